"""Fresh and no-op apply of the default platform: kfdeploy side by side with kubectl and helm.

The peers are what a careful user does by hand with the rendered manifests (`kfdeploy build`):
`kubectl apply --server-side` retried until CRDs are known (as kfctl did), then `kubectl wait`
for every Deployment, StatefulSet and DaemonSet; and `helm install --wait` of a chart made of
the same files (CRDs in crds/). Each contender starts on a fresh kwok cluster; all run in this
one process, on this machine, and the table reports ratios.

    python bench/apply.py [--rounds N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import harness


def kfdeploy_round(spec: Path) -> dict[str, float]:
    kubeconfig = harness.fresh_cluster(spec)
    fresh, fresh_out = harness.kfdeploy_apply(spec, kubeconfig)
    noop, noop_out = harness.kfdeploy_apply(spec, kubeconfig)
    return {"fresh": fresh.seconds, "fresh_requests": fresh_out["requests"], "fresh_mb": fresh.self_mb,
            "noop": noop.seconds, "noop_requests": noop_out["requests"], "noop_mb": noop.self_mb}


def kubectl_round(spec: Path, manifests: Path) -> dict[str, float]:
    kubeconfig = harness.fresh_cluster(spec)
    loop = harness.kubectl_loop(kubeconfig, manifests)
    noop = harness.kubectl_reapply(kubeconfig, manifests)
    return {"fresh": loop.seconds, "fresh_requests": loop.requests, "passes": loop.passes,
            "noop": noop.seconds, "noop_requests": noop.kubectl_requests}


def helm_round(spec: Path, chart: Path) -> dict[str, float]:
    kubeconfig = harness.fresh_cluster(spec)
    return {"fresh": harness.helm_install(kubeconfig, chart).seconds}


def measure(rounds: int, work: Path) -> dict[str, Any]:
    """Best of ``rounds`` for each contender, each round on fresh clusters."""
    spec = harness.named_spec(harness.REPO / "kfdef.yaml", harness.PREFIX + "apply", work)
    manifests = work / "build"
    harness.kfdeploy_build(spec, manifests)
    chart = harness.helm_chart(manifests, work / "chart")
    objects = len(harness.rendered_objects(manifests))
    runs: dict[str, list[dict[str, float]]] = {"kfdeploy": [], "kubectl": [], "helm": []}
    try:
        for _ in range(rounds):
            runs["kfdeploy"].append(kfdeploy_round(spec))
            runs["kubectl"].append(kubectl_round(spec, manifests))
            runs["helm"].append(helm_round(spec, chart))
    finally:
        harness.delete_cluster(spec)
    best = {who: {k: min(r[k] for r in rs) for k in rs[0]} for who, rs in runs.items()}
    return {"rounds": rounds, "objects": objects, **best}


def report(r: dict[str, Any]) -> str:
    kf, kc, hm = r["kfdeploy"], r["kubectl"], r["helm"]
    lines = [f"default platform ({r['objects']} objects), best of {r['rounds']} round(s), fresh kwok cluster each",
             f"  {'':<30}{'kfdeploy':>10}{'kubectl':>10}{'helm':>10}{'kfdeploy/kubectl':>18}{'kfdeploy/helm':>15}",
             f"  {'fresh apply + healthy (s)':<30}{kf['fresh']:>10.2f}{kc['fresh']:>10.2f}{hm['fresh']:>10.2f}"
             f"{kf['fresh'] / kc['fresh']:>17.2f}x{kf['fresh'] / hm['fresh']:>14.2f}x",
             f"  {'no-op re-apply (s)':<30}{kf['noop']:>10.2f}{kc['noop']:>10.2f}{'':>10}"
             f"{kf['noop'] / kc['noop']:>17.2f}x",
             f"  {'fresh: API requests':<30}{kf['fresh_requests']:>10.0f}{kc['fresh_requests']:>10.0f}",
             f"  {'no-op: API requests':<30}{kf['noop_requests']:>10.0f}{kc['noop_requests']:>10.0f}",
             f"  kfdeploy peak RSS: fresh {kf['fresh_mb']:.0f} MB, no-op {kf['noop_mb']:.0f} MB; "
             f"kubectl needed {kc['passes']:.0f} apply pass(es) before CRDs were known"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-") as tmp:
        print(report(measure(args.rounds, Path(tmp))))


if __name__ == "__main__":
    main()
