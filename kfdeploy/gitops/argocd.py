"""Argo CD: an app-of-apps, one ``Application`` per application.

Sync waves follow the application graph (a dependency is always in an earlier wave); every
Application syncs server-side (upstream CRDs exceed the client-side annotation limit), skips the
dry-run of custom resources whose CRD is not registered yet, and respects ``ignoreDifferences``
for the fields the render shows controllers write. Objects prune must keep carry
``Prune=false`` (and ``Delete=false``). ``argocd-cm`` gains health checks for Applications (so
waves wait for each other) and for kinds kfdeploy judges by a ``Ready`` condition.
"""

from __future__ import annotations

from typing import Any

from kfdeploy.gitops.tree import ClusterExport, ControllerField, ExportedApp, Obj, controller_fields, protection
from kfdeploy.kinds import KINDS, api_group
from kfdeploy.labels import PART_OF

NAMESPACE = "argocd"
WAVE = "argocd.argoproj.io/sync-wave"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
KEEP = ("Prune=false", "Delete=false")
DESTINATION = "https://kubernetes.default.svc"

_APPLICATION_HEALTH = """hs = {status = "Progressing", message = ""}
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  hs.message = obj.status.health.message or ""
end
return hs
"""
_READY_HEALTH = """hs = {status = "Progressing", message = "waiting for the Ready condition"}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" and c.status == "True" then
      hs.status = "Healthy"; hs.message = c.message or ""
    elseif c.type == "Ready" and c.status == "False" then
      hs.status = "Degraded"; hs.message = c.message or ""
    end
  end
end
return hs
"""


def protect(obj: Obj) -> Obj:
    """The object with ``Prune=false,Delete=false`` added to its sync options when kfdeploy's
    prune would keep it (options the source set are kept)."""
    if not protection(obj):
        return obj
    meta = dict(obj["metadata"])
    annotations = dict(meta.get("annotations") or {})
    have = [o for o in str(annotations.get(SYNC_OPTIONS, "")).split(",") if o]
    annotations[SYNC_OPTIONS] = ",".join(have + [o for o in KEEP if o not in have])
    meta["annotations"] = annotations
    return {**obj, "metadata": meta}


def application_name(export: ClusterExport, app: str) -> str:
    return f"{export.cluster}-{app}"


def ignore_differences(fields: list[ControllerField]) -> list[dict[str, Any]]:
    out = []
    for f in fields:
        meta = f.obj["metadata"]
        entry: dict[str, Any] = {"group": api_group(f.obj["apiVersion"]), "kind": f.obj["kind"], "name": meta["name"]}
        if meta.get("namespace"):
            entry["namespace"] = meta["namespace"]
        if f.json_pointers:
            entry["jsonPointers"] = list(f.json_pointers)
        if f.jq_paths:
            entry["jqPathExpressions"] = list(f.jq_paths)
        out.append(entry)
    return out


def is_custom_resource(obj: Obj) -> bool:
    """Whether the object's kind comes from a CRD (its group is neither core nor ``*.k8s.io``
    nor one of the un-dotted built-in groups)."""
    group = api_group(str(obj.get("apiVersion") or ""))
    return "." in group and not group.endswith(".k8s.io")


def has_custom_resources(app: ExportedApp) -> bool:
    return any(is_custom_resource(o) for o in app.objects)


def application(export: ClusterExport, app: ExportedApp, path: str, repo_url: str, branch: str) -> Obj:
    options = ["ServerSideApply=true", "RespectIgnoreDifferences=true", "CreateNamespace=false"]
    if has_custom_resources(app):
        options.append("SkipDryRunOnMissingResource=true")
    spec: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": repo_url, "targetRevision": branch, "path": path,
                   "kustomize": {"commonLabels": {PART_OF: export.applyset}, "labelWithoutSelector": True}},
        "destination": {"server": DESTINATION},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": options,
                       "retry": {"limit": 10, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}}},
    }
    ignored = ignore_differences(controller_fields(app.objects))
    if ignored:
        spec["ignoreDifferences"] = ignored
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": application_name(export, app.name), "namespace": NAMESPACE,
                         "annotations": {WAVE: str(app.wave)},
                         "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
            "spec": spec}


def root(export: ClusterExport, repo_url: str, branch: str) -> Obj:
    """The app-of-apps: it syncs the cluster's Applications, wave by wave."""
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": f"kfdeploy-{export.cluster}", "namespace": NAMESPACE},
            "spec": {"project": "default",
                     "source": {"repoURL": repo_url, "targetRevision": branch,
                                "path": f"clusters/{export.cluster}/argocd/apps"},
                     "destination": {"server": DESTINATION, "namespace": NAMESPACE},
                     "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}}


def health_config() -> Obj:
    """``argocd-cm`` entries: Application health (app-of-apps waves wait on it) and a Ready
    condition check for the kinds kfdeploy judges that way."""
    data = {"resource.customizations.health.argoproj.io_Application": _APPLICATION_HEALTH}
    for rule in KINDS:
        if rule.health == "ready":
            data[f"resource.customizations.health.{rule.group}_{rule.kind}"] = _READY_HEALTH
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": NAMESPACE,
                         "labels": {"app.kubernetes.io/part-of": "argocd"}},
            "data": dict(sorted(data.items()))}
