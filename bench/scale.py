"""How cost grows with size: synthetic applications of 250 / 1,000 / 4,000 objects (bench/synth.py,
large CRDs included), kfdeploy side by side with the kubectl loop, each on a fresh kwok cluster:
fresh apply until healthy, then a no-op re-apply; time, API requests, peak RSS.

``apply_span`` is how long kfdeploy took until its last object was applied (render and plan
included, the final health wait not): the number to hold against the API server's ceiling.

    python bench/scale.py [--sizes 250,1000,4000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import harness
import synth


def measure_size(objects: int, work: Path) -> dict[str, Any]:
    spec = synth.generate(objects, work / f"apps-{objects}", harness.PREFIX + "scale")
    manifests = work / f"build-{objects}"
    harness.kfdeploy_build(spec, manifests)
    rendered = len(harness.rendered_objects(manifests))
    try:
        kubeconfig = harness.fresh_cluster(spec)
        fresh, fresh_out = harness.kfdeploy_apply(spec, kubeconfig)
        noop, noop_out = harness.kfdeploy_apply(spec, kubeconfig)
        kubeconfig = harness.fresh_cluster(spec)
        loop = harness.kubectl_loop(kubeconfig, manifests)
        reapply = harness.kubectl_reapply(kubeconfig, manifests)
    finally:
        harness.delete_cluster(spec)
    assert fresh.probe is not None
    return {
        "objects": rendered,
        "kfdeploy": {"fresh": fresh.seconds, "fresh_requests": fresh_out["requests"], "fresh_mb": fresh.self_mb,
                     "fresh_total_mb": fresh.peak_mb, "apply_span": fresh.probe["last_apply"],
                     "noop": noop.seconds, "noop_requests": noop_out["requests"], "noop_mb": noop.self_mb},
        "kubectl": {"fresh": loop.seconds, "fresh_requests": loop.requests, "fresh_mb": loop.peak_mb,
                    "noop": reapply.seconds, "noop_requests": reapply.kubectl_requests,
                    "noop_mb": reapply.peak_mb},
    }


def measure(sizes: list[int], work: Path) -> list[dict[str, Any]]:
    return [measure_size(n, work) for n in sizes]


def report(rows: list[dict[str, Any]]) -> str:
    lines = ["scale: synthetic applications, fresh kwok cluster each (kfdeploy | kubectl loop)",
             f"  {'objects':>8}{'fresh s':>16}{'ratio':>8}{'requests':>14}{'peak MB':>14}"
             f"{'no-op s':>14}{'ratio':>8}{'no-op req/obj':>15}"]
    for r in rows:
        kf, kc = r["kfdeploy"], r["kubectl"]
        lines.append(
            f"  {r['objects']:>8}{kf['fresh']:>8.1f}{kc['fresh']:>8.1f}{kf['fresh'] / kc['fresh']:>7.2f}x"
            f"{kf['fresh_requests']:>7.0f}{kc['fresh_requests']:>7.0f}{kf['fresh_mb']:>7.0f}{kc['fresh_mb']:>7.0f}"
            f"{kf['noop']:>7.2f}{kc['noop']:>7.2f}{kf['noop'] / kc['noop']:>7.2f}x"
            f"{kf['noop_requests'] / r['objects']:>15.3f}")
    if len(rows) > 1:
        a, b = rows[-2], rows[-1]
        growth = b["kfdeploy"]["fresh"] / a["kfdeploy"]["fresh"]
        lines.append(f"  kfdeploy fresh time at {b['objects']} objects / at {a['objects']}: {growth:.2f}x "
                     f"for {b['objects'] / a['objects']:.1f}x the objects "
                     f"(kubectl: {b['kubectl']['fresh'] / a['kubectl']['fresh']:.2f}x)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250,1000,4000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-") as tmp:
        print(report(measure([int(s) for s in args.sizes.split(",")], Path(tmp))))


if __name__ == "__main__":
    main()
