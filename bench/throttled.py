"""What throttling costs: the default platform and then N synthetic objects (synth.py), each
applied to all-healthy on a fresh kwok cluster without request limits and on one whose
kube-apiserver answers 429 beyond a few requests in flight, side by side in one run: time, API
requests and requests repeated after a 429.

    python bench/throttled.py [--objects 1000] [--inflight 4] [--mutating 1]

kfdeploy reaches both clusters as a cluster-admin ServiceAccount (kwok.service_account_kubeconfig):
kwokctl's own kubeconfig is in system:masters, which the limits exempt.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import harness
import synth
import yaml

from kfdeploy.platforms.kwok import service_account_kubeconfig
from kfdeploy.spec import load_spec


def cluster_spec(folder: Path, name: str, limits: dict[str, str], pods: int) -> Path:
    """The repository's kfdef.yaml as cluster ``name``, with ``limits`` and room for ``pods`` more."""
    data = yaml.safe_load((harness.REPO / "kfdef.yaml").read_text())
    data["metadata"]["name"] = name
    kwok = data["spec"]["platform"]["kwok"]
    kwok["nodePools"].append({"name": "bulk", "count": pods // 100 + 1, "cpu": "64", "memory": "256Gi"})
    if limits:
        kwok["apiServerArgs"] = limits
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kfdef.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def measure(work: Path, objects: int, limits: dict[str, str]) -> dict[str, Any]:
    label = "throttled" if limits else "plain"
    synthetic = synth.generate(objects, work / label / "synthetic", harness.PREFIX + "synthetic")
    pods = synth.pods([o for f in (work / label / "synthetic").glob("*/objects.json")
                       for o in json.loads(f.read_text())])
    spec = cluster_spec(work / label, harness.PREFIX + label, limits, pods)
    out: dict[str, Any] = {}
    try:
        harness.fresh_cluster(spec)
        kubeconfig = service_account_kubeconfig(load_spec(spec))
        for name, path in (("default platform", spec), (f"{objects} objects", synthetic)):
            run, data = harness.kfdeploy_apply(path, kubeconfig)
            out[name] = {"seconds": run.seconds, "requests": data["requests"], "retries": data.get("retries", 0)}
    finally:
        harness.delete_cluster(spec)
    return out


def report(plain: dict[str, Any], throttled: dict[str, Any], limits: dict[str, str]) -> str:
    shown = ", ".join(f"--{k}={v}" for k, v in limits.items())
    lines = [f"apply under API request limits ({shown}) vs none",
             f"  {'':<22}{'plain s':>9}{'throttled s':>13}{'x time':>8}{'plain req':>11}{'throttled req':>15}"
             f"{'retried':>9}"]
    for name in plain:
        p, t = plain[name], throttled[name]
        lines.append(f"  {name:<22}{p['seconds']:>9.1f}{t['seconds']:>13.1f}{t['seconds'] / p['seconds']:>7.2f}x"
                     f"{p['requests']:>11}{t['requests']:>15}{t['retries']:>9}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--inflight", default="4", help="--max-requests-inflight of the throttled server")
    parser.add_argument("--mutating", default="1", help="--max-mutating-requests-inflight of the throttled server")
    args = parser.parse_args()
    limits = {"enable-priority-and-fairness": "false", "max-requests-inflight": args.inflight,
              "max-mutating-requests-inflight": args.mutating}
    print(f"load average at start {harness.load()}")
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-") as tmp:
        plain = measure(Path(tmp), args.objects, {})
        throttled = measure(Path(tmp), args.objects, limits)
    print(report(plain, throttled, limits))
    print(f"load average at end {harness.load()}")


if __name__ == "__main__":
    main()
