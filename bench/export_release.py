"""The ``export-<tag>`` part of bench/releases.py: an official release through both GitOps engines.

- ``kfdeploy init --manifests`` of the release, ``export --format flux`` and ``--format argocd``
  (timed, and the objects and applications counted).
- Flux: a fresh kwok cluster, ``kfdeploy credentials seed``, the tree pushed to a Git repository
  served over http on 127.0.0.1, the real source-controller and kustomize-controller
  (tests/fakes/flux.py) until every Kustomization is Ready; each one's Ready time, and whether
  it came after each of its ``dependsOn``; every Kustomization reconciled again at the same
  revision (what Flux reports as not ``unchanged``); then ``kfdeploy status`` (Healthy?) and
  ``kfdeploy plan`` (a no-op, or what it reports) on the Flux-managed cluster.
- The peer, in the same run: ``kfdeploy apply`` of the same spec on a fresh cluster to Healthy
  (renders warm, as the export left them), beside Flux's time from push to every Kustomization Ready.
- Argo CD: its real CRDs (tests/fakes/argocd.py) on the same cluster, every Application applied
  server-side (fields the schema drops are reported); static checks of the tree: each
  Application's wave is after its dependencies' (the edges read from the Flux export's
  ``dependsOn``), every PVC, CRD and Namespace carries ``Prune=false``, every field a controller
  injects (webhook and conversion ``caBundle``, cert-manager's ``inject-ca-from`` targets,
  replicas under an HPA) is in its Application's ``ignoreDifferences``, and no credential the
  cluster holds appears in any file.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from fakes import argocd
from fakes import flux as fluxfake
from harness import delete_cluster, kfdeploy

from kfdeploy.kube.client import Cluster

if TYPE_CHECKING:
    from releases import Bench

FLUX_TIMEOUT = 2400.0  # seconds for every Kustomization to be Ready
STALL = 900.0  # give up when no Kustomization became Ready for this long
PROTECTED = {"PersistentVolumeClaim", "CustomResourceDefinition", "Namespace"}
WEBHOOKS = {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}
INJECT = "cert-manager.io/inject-ca-from"


def yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def app_objects(repo: Path) -> dict[str, list[dict[str, Any]]]:
    """Exported application -> its objects (folder name = application)."""
    return {p.parent.name: yaml_docs(p) for p in sorted(repo.glob("**/apps/*/manifests.yaml"))}


def run_export(bench: Bench, spec: Path, fmt: str, repo: Path, repo_url: str) -> tuple[float, dict[str, Any]]:
    run = kfdeploy("export", "-f", str(spec), "--format", fmt, "-d", str(repo), "--repo-url", repo_url, "-o", "json")
    run.check(f"kfdeploy export -f {spec} --format {fmt}")
    return run.seconds, json.loads(run.stdout)


def export(bench: Bench, tag: str) -> None:
    name = "export" + tag.replace(".", "")
    spec = bench.init(tag, "kwok", name)
    kubeconfig = bench.cluster(spec)
    kube = Cluster.connect(kubeconfig)
    result: dict[str, Any] = {}
    bench.results[f"export-{tag}"] = result
    with fluxfake.running(kube, kubeconfig, spec.parent / "flux", concurrent=4) as flux:
        flux_s, out = run_export(bench, spec, "flux", flux.work, flux.repo_url)
        argo_repo = spec.parent / "argocd-repo"
        argo_s, argo_out = run_export(bench, spec, "argocd", argo_repo, "https://git.example.com/platform.git")
        again_s, again = run_export(bench, spec, "flux", flux.work, flux.repo_url)
        objects = app_objects(flux.work)
        result.update({"export_flux_s": flux_s, "export_argocd_s": argo_s, "reexport_flux_s": again_s,
                       "reexport_written": again["written"],
                       "applications": len(out["clusters"][0]["applications"]),
                       "objects": sum(len(v) for v in objects.values()),
                       "files_flux": len(out["written"]), "files_argocd": len(argo_out["written"]),
                       "tree_mb": sum(p.stat().st_size for p in flux.work.rglob("*") if p.is_file()
                                      and ".git" not in p.parts) / 2**20,
                       "upstream_secrets_with_values": secrets_with_values(objects)})
        print(f"  export flux {flux_s:.1f} s, argocd {argo_s:.1f} s, {result['objects']} objects in "
              f"{result['applications']} applications", flush=True)
        seed = kfdeploy("credentials", "seed", "-f", str(spec), "--kubeconfig", str(kubeconfig))
        seed.check(f"kfdeploy credentials seed -f {spec}")
        cluster_name = out["clusters"][0]["name"]
        flux.bootstrap(cluster_name)
        revision = flux.push("kfdeploy export")
        result["flux"] = reconcile(flux, revision, set(out["clusters"][0]["applications"]))
        print(f"  flux: {json.dumps(result['flux'], default=str)[:1500]}", flush=True)
        result["flux_second_pass"] = second_pass(flux)
        print(f"  flux second pass: {json.dumps(result['flux_second_pass'])[:1500]}", flush=True)
        status = kfdeploy("status", "-f", str(spec), "-o", "json", "--kubeconfig", str(kubeconfig))
        components = json.loads(status.stdout or "{}").get("components", [])
        result["status_s"] = status.seconds
        result["status_not_healthy"] = {c["name"]: c["health"] for c in components if c["health"] != "Healthy"}
        result["status_healthy"] = bool(components) and not result["status_not_healthy"]
        plan = kfdeploy("plan", "-f", str(spec), "-o", "json", "--kubeconfig", str(kubeconfig))
        changes = [(a["name"], c) for a in json.loads(plan.stdout or "{}").get("applications", [])
                   for c in a.get("changes", [])]
        result.update({"plan_s": plan.seconds, "plan_exit": plan.returncode, "plan_changes": len(changes),
                       "plan_sample": changes[:15], "plan_stderr": plan.stderr[-1500:] if plan.returncode else ""})
        print(f"  status healthy={result['status_healthy']}, plan {len(changes)} changes "
              f"(exit {plan.returncode})", flush=True)
        result["flux_log_errors"] = [line[:400] for line in (flux.logs / "kustomize-controller.log")
                                     .read_text(errors="replace").splitlines() if '"level":"error"' in line][:10]
        result["argocd"] = argocd_checks(bench, kube, argo_repo, cluster_name, flux.work,
                                         cluster_credentials(kube, cluster_name))
    delete_cluster(spec)
    # the peer, in the same run: kfdeploy apply of the same spec on a fresh cluster (renders warm,
    # as Flux's were: the export rendered them), until Healthy
    kubeconfig = bench.cluster(spec)
    apply_s, apply_out, _ = bench.apply(spec, kubeconfig)
    bench.healthy(spec, kubeconfig)
    result.update({"apply_s": apply_s, "apply_requests": apply_out["requests"],
                   "flux_over_apply": (result["flux"]["seconds_to_all_ready"] or 0) / apply_s})
    bench.report(f"export-{tag}")
    delete_cluster(spec)


def reconcile(flux: fluxfake.Flux, revision: str, names: set[str]) -> dict[str, Any]:
    """Poll until every Kustomization is Ready at ``revision``; seconds to each, order kept?"""
    t0 = time.perf_counter()
    first: dict[str, float] = {}
    last_progress = t0
    ks: dict[str, dict[str, Any]] = {}
    while True:
        ks = flux.kustomizations()
        now = time.perf_counter()
        for n, k in ks.items():
            at = revision in str((k.get("status") or {}).get("lastAppliedRevision"))
            if n not in first and at and (fluxfake.ready(k) or {}).get("status") == "True":
                first[n] = now - t0
                last_progress = now
        if fluxfake.synced(ks, revision, names) or now - t0 > FLUX_TIMEOUT or now - last_progress > STALL:
            break
        time.sleep(2)
    transitions = {n: datetime.fromisoformat(c["lastTransitionTime"].replace("Z", "+00:00"))
                   for n, k in ks.items() if (c := fluxfake.ready(k)) and c.get("status") == "True"}
    edges = [(n, d["name"]) for n, k in ks.items() for d in k["spec"].get("dependsOn", [])]
    return {"all_ready": fluxfake.synced(ks, revision, names),
            "seconds_to_all_ready": max(first.values(), default=None),
            "kustomizations": len(ks), "dependsOn_edges": len(edges),
            "ready_before_dependency": [(a, d) for a, d in edges
                                        if a in transitions and d in transitions and transitions[a] < transitions[d]],
            "ready_at_s": {n: round(s, 1) for n, s in sorted(first.items(), key=lambda x: x[1])},
            "not_ready": {n: (fluxfake.ready(k) or {}).get("message", "")[:600]
                          for n, k in ks.items() if n not in first}}


def second_pass(flux: fluxfake.Flux) -> dict[str, Any]:
    """Every Kustomization reconciled again at the same revision: what Flux changed (anything
    but ``unchanged`` is a fight with a controller, or an export that does not round-trip)."""
    t0 = time.perf_counter()
    applied = flux.reconcile_again()
    return {"seconds": round(time.perf_counter() - t0, 1), "objects_applied": len(applied),
            "not_unchanged": [f"{k}: {obj} {action}" for k, obj, action in applied if action != "unchanged"][:30]}


def secrets_with_values(objects: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Secrets in the tree that carry data (the release's own literal values, published upstream)."""
    return [f"{app}: {o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
            for app, objs in objects.items() for o in objs
            if o["kind"] == "Secret" and (o.get("data") or o.get("stringData"))]


def cluster_credentials(kube: Cluster, cluster: str) -> list[str]:
    """Every credential value kfdeploy stores for the cluster (kfdeploy-system), decoded."""
    values = []
    for s in kube.list("v1", "Secret", namespace="kfdeploy-system"):
        for v in (s.get("data") or {}).values():
            text = base64.b64decode(v).decode(errors="replace")
            try:
                stored = json.loads(text)
            except ValueError:
                stored = text
            values.extend(leaves(stored))
    return [v for v in values if len(v) >= 8]


def leaves(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    elif value is not None:
        yield str(value)


def argocd_checks(bench: Bench, kube: Cluster, repo: Path, cluster: str, flux_repo: Path,
                  credentials: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        crds = argocd.crds(bench.work)
    except argocd.Unavailable as e:
        out["crds"] = f"unavailable: {e}"
    else:
        argocd.install(kube, crds)
        objects = argocd.export_objects(repo, cluster)
        out["applied"] = len(objects)
        out["dropped_fields"] = argocd.dropped_fields(kube, objects)
    apps = {p.stem: yaml_docs(p)[0] for p in sorted((repo / "clusters" / cluster / "argocd" / "apps").glob("*.yaml"))}
    wave = {n: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for n, a in apps.items()}
    kustomizations = yaml_docs(flux_repo / "clusters" / cluster / "flux" / "applications.yaml")
    edges = [(k["metadata"]["name"], d["name"]) for k in kustomizations for d in k["spec"].get("dependsOn", [])]
    out["waves"] = max(wave.values()) + 1
    out["dependsOn_edges"] = len(edges)
    out["wave_violations"] = [(a, d) for a, d in edges if wave[a] <= wave[d]]
    objects = app_objects(repo)
    out["unprotected"] = [f"{app}: {o['kind']}/{o['metadata']['name']}" for app, objs in objects.items() for o in objs
                          if o["kind"] in PROTECTED and "Prune=false" not in
                          (o["metadata"].get("annotations") or {}).get("argocd.argoproj.io/sync-options", "")]
    out["protected"] = sum(1 for objs in objects.values() for o in objs if o["kind"] in PROTECTED)
    ignored = {n: a["spec"].get("ignoreDifferences", []) for n, a in apps.items()}
    out["uncovered_mutations"] = uncovered(objects, ignored)
    out["ignore_differences"] = sum(len(a["spec"].get("ignoreDifferences", [])) for a in apps.values())
    texts = [p.read_text(errors="replace") for p in repo.rglob("*") if p.is_file()]
    out["credentials_checked"] = len(credentials)
    out["credentials_in_files"] = sum(1 for c in credentials if any(c in t for t in texts))
    return out


def uncovered(objects: dict[str, list[dict[str, Any]]], ignored: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Fields controllers write that the owning Application does not ignore."""
    missing = []
    for app, objs in objects.items():
        entries = ignored.get(app, [])
        targets = {((o.get("spec") or {}).get("scaleTargetRef") or {}).get("name")
                   for o in objs if o["kind"] == "HorizontalPodAutoscaler"}
        for o in objs:
            name = f"{app}: {o['kind']}/{o['metadata']['name']}"
            injected = INJECT in (o["metadata"].get("annotations") or {})
            if o["kind"] in WEBHOOKS and (injected or any("service" in (w.get("clientConfig") or {})
                                                          for w in o.get("webhooks") or [])):
                if not covers(entries, o, "caBundle"):
                    missing.append(f"{name} caBundle")
            elif o["kind"] == "CustomResourceDefinition" and (o["spec"].get("conversion") or {}).get(
                    "strategy") == "Webhook":
                if not covers(entries, o, "caBundle"):
                    missing.append(f"{name} conversion caBundle")
            elif o["kind"] == "APIService" and (injected or (o.get("spec") or {}).get("service")):
                if not covers(entries, o, "caBundle"):
                    missing.append(f"{name} caBundle")
            elif o["kind"] in {"Deployment", "StatefulSet"} and o["metadata"]["name"] in targets:
                if not covers(entries, o, "replicas"):
                    missing.append(f"{name} replicas")
            elif injected and o["kind"] != "CustomResourceDefinition":
                missing.append(f"{name} ({INJECT} on a kind the export does not know)")
    return missing


def covers(entries: list[dict[str, Any]], obj: dict[str, Any], path: str) -> bool:
    """Whether an ignoreDifferences entry names the object and a path containing ``path``."""
    return any(e["kind"] == obj["kind"] and e["name"] == obj["metadata"]["name"]
               and any(path in p for p in e.get("jsonPointers", []) + e.get("jqPathExpressions", []))
               for e in entries)
