"""Fresh and no-op apply of the default platform: kfdeploy side by side with kubectl.

The peer is what a careful user does by hand with the rendered manifests (`kfdeploy build`):
`kubectl apply --server-side` retried until CRDs are known (as kfctl did), then `kubectl wait`
for every Deployment, StatefulSet and DaemonSet. Each contender starts on a fresh kwok cluster;
both runs happen in this one process, on this machine, and the table reports ratios.

    python bench/apply.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from kfdeploy.platforms.kwok import KwokPlatform
from kfdeploy.spec import load_spec
from kfdeploy.tools import find_tool, tool_env

REPO = Path(__file__).resolve().parents[1]
NAME = "kfdeploy-bench"


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=tool_env(), **kw)  # type: ignore[call-overload]


def fresh_cluster(spec_path: Path) -> Path:
    spec = load_spec(spec_path)
    platform = KwokPlatform()
    platform.delete_cluster(spec)
    return platform.ensure_cluster(spec, lambda line: None).kubeconfig


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = run(cmd)
    return time.perf_counter() - start, done


def kfdeploy_round(spec_path: Path) -> tuple[float, float, int, int]:
    kubeconfig = fresh_cluster(spec_path)
    base = [sys.executable, "-m", "kfdeploy", "apply", "-f", str(spec_path), "--yes", "-o", "json",
            "--kubeconfig", str(kubeconfig)]
    fresh, done = timed(base)
    if done.returncode != 0:
        raise SystemExit(f"kfdeploy apply failed:\n{done.stderr[-2000:]}")
    fresh_requests = json.loads(done.stdout)["requests"]
    noop, done = timed(base)
    return fresh, noop, fresh_requests, json.loads(done.stdout)["requests"]


def kubectl_round(spec_path: Path, manifests: Path) -> tuple[float, float, int]:
    kubeconfig = fresh_cluster(spec_path)
    kubectl = [find_tool("kubectl"), "--kubeconfig", str(kubeconfig)]
    apply = [*kubectl, "apply", "--server-side", "--field-manager=bench", "-f", str(manifests)]
    start = time.perf_counter()
    tries = 0
    while True:
        tries += 1
        done = run(apply)
        if done.returncode == 0:
            break
        if tries == 10:
            raise SystemExit(f"kubectl apply kept failing:\n{done.stderr[-2000:]}")
    run([*kubectl, "wait", "--for=condition=Available", "deployment", "--all", "-A", "--timeout=300s"])
    listed = run([*kubectl, "get", "statefulsets,daemonsets", "-A", "-o",
                  "jsonpath={range .items[*]}{.kind} {.metadata.namespace} {.metadata.name}{\"\\n\"}{end}"])
    for line in listed.stdout.split("\n"):
        if line.strip():
            kind, ns, name = line.split()
            run([*kubectl, "rollout", "status", f"{kind.lower()}/{name}", "-n", ns, "--timeout=300s"])
    fresh = time.perf_counter() - start
    noop, _ = timed(apply)
    return fresh, noop, tries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
        data["metadata"]["name"] = NAME
        spec_path = Path(tmp) / "kfdef.yaml"
        spec_path.write_text(yaml.safe_dump(data))
        manifests = Path(tmp) / "build"
        done = run([sys.executable, "-m", "kfdeploy", "build", "-f", str(spec_path), "-d", str(manifests)])
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        rows = []
        for _ in range(args.rounds):
            kf = kfdeploy_round(spec_path)
            kc = kubectl_round(spec_path, manifests)
            rows.append((kf, kc))
        KwokPlatform().delete_cluster(load_spec(spec_path))
    kf_fresh = min(r[0][0] for r in rows)
    kf_noop = min(r[0][1] for r in rows)
    kc_fresh = min(r[1][0] for r in rows)
    kc_noop = min(r[1][1] for r in rows)
    print(f"default platform, best of {args.rounds} round(s), fresh kwok cluster each")
    print(f"{'':<28}{'kfdeploy':>10}{'kubectl':>10}{'kubectl/kfdeploy':>18}")
    print(f"{'fresh apply + healthy (s)':<28}{kf_fresh:>10.2f}{kc_fresh:>10.2f}{kc_fresh / kf_fresh:>17.2f}x")
    print(f"{'no-op re-apply (s)':<28}{kf_noop:>10.2f}{kc_noop:>10.2f}{kc_noop / kf_noop:>17.2f}x")
    print(f"kfdeploy API requests: fresh {rows[0][0][2]}, no-op {rows[0][0][3]}; "
          f"kubectl needed {rows[0][1][2]} apply pass(es) before CRDs were known")


if __name__ == "__main__":
    main()
