"""Fresh and no-op apply of the default platform: kfdeploy side by side with kubectl and helm.

The peers are what a careful user does by hand with the rendered manifests (`kfdeploy build`):
`kubectl apply --server-side` retried until CRDs are known (as kfctl did), then `kubectl wait`
for every Deployment, StatefulSet and DaemonSet; and `helm install --wait` of a chart made of
the same files (CRDs in crds/). Each contender starts on a fresh kwok cluster; all run in this
one process, on this machine, and the table reports ratios.

    python bench/apply.py [--rounds N]

With ``--noop-against REF`` it measures instead the no-op ``plan`` and ``apply`` of a spec (the
default platform, or ``--spec PATH``, e.g. one ``kfdeploy init --manifests`` wrote) with this
checkout and with the kfdeploy of commit REF (e.g. main), alternating on one cluster after one
fresh apply; this checkout also without its render cache (``--no-cache``).

    python bench/apply.py --noop-against main [--spec kfdef.yaml] [--rounds N]
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


NOOP_CONTENDERS = ("before", "after", "after --no-cache")


def noop_round(spec: Path, kubeconfig: Path, baseline: Path, cache: Path) -> dict[str, dict[str, float]]:
    """One no-op plan and apply per contender, in turn."""
    out = {}
    for who in NOOP_CONTENDERS:
        env = {"KFDEPLOY_RENDER_CACHE": str(cache)}
        if who == "before":
            env["KFDEPLOY_BENCH_SOURCE"] = str(baseline)
        flags = ("--no-cache",) if who.endswith("--no-cache") else ()
        plan = harness.kfdeploy_plan(spec, kubeconfig, *flags, env=env)
        applied, data = harness.kfdeploy_apply(spec, kubeconfig, *flags, env=env)
        if any(a["created"] or a["updated"] or a["deleted"] for a in data["applications"]):
            raise SystemExit(f"{who}: the re-apply changed objects; not a no-op")
        out[who] = {"plan": plan.seconds, "apply": applied.seconds, "requests": data["requests"]}
    return out


def measure_noop(source: Path, ref: str, rounds: int, work: Path) -> dict[str, Any]:
    """Best of ``rounds`` no-op plan and apply per contender, after one fresh apply (this checkout)."""
    spec = harness.named_spec(source, harness.PREFIX + "noop", source.parent)
    baseline = harness.source_tree(ref, work / "baseline")
    cache = work / "render-cache"
    try:
        kubeconfig = harness.fresh_cluster(spec)
        fresh, data = harness.kfdeploy_apply(spec, kubeconfig, env={"KFDEPLOY_RENDER_CACHE": str(cache)})
        runs = [noop_round(spec, kubeconfig, baseline, cache) for _ in range(rounds)]
    finally:
        harness.delete_cluster(spec)
        spec.unlink()
    best = {who: {k: min(r[who][k] for r in runs) for k in runs[0][who]} for who in NOOP_CONTENDERS}
    objects = sum(a["created"] for a in data["applications"])
    return {"spec": str(source), "ref": ref, "rounds": rounds, "objects": objects,
            "applications": len(data["applications"]), "fresh": fresh.seconds, **best}


def report_noop(r: dict[str, Any]) -> str:
    before = r["before"]
    lines = [f"no-op plan and apply of {r['spec']} ({r['applications']} applications, {r['objects']} objects), "
             f"best of {r['rounds']} round(s), one kwok cluster; before = {r['ref']}",
             f"  {'':<20}{'plan s':>10}{'ratio':>8}{'apply s':>10}{'ratio':>8}{'requests':>10}"]
    for who in NOOP_CONTENDERS:
        x = r[who]
        lines.append(f"  {who:<20}{x['plan']:>10.2f}{x['plan'] / before['plan']:>7.2f}x"
                     f"{x['apply']:>10.2f}{x['apply'] / before['apply']:>7.2f}x{x['requests']:>10.0f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--noop-against", metavar="REF", help="measure the no-op plan and apply against "
                        "the kfdeploy of this commit instead")
    parser.add_argument("--spec", type=Path, default=harness.REPO / "kfdef.yaml",
                        help="with --noop-against: the spec to apply (default: the default platform)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kfdeploy-bench-") as tmp:
        if args.noop_against:
            print(report_noop(measure_noop(args.spec.resolve(), args.noop_against, args.rounds, Path(tmp))))
        else:
            print(report(measure(args.rounds, Path(tmp))))


if __name__ == "__main__":
    main()
