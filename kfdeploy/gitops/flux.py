"""Flux: one ``Kustomization`` (kustomize.toolkit.fluxcd.io/v1) per application.

``dependsOn`` is the application graph; ``wait`` is set where kfdeploy waits on an object of the
application (``kfdeploy.kinds``); ``prune`` is on, with ``kustomize.toolkit.fluxcd.io/prune:
disabled`` on the objects prune must keep; ``commonMetadata`` adds the cluster's ApplySet label,
so ``kfdeploy status`` and ``plan`` find what Flux applied. An application whose Secrets are
SOPS-encrypted in the tree gets ``decryption`` (``kfdeploy.gitops.sops``).
"""

from __future__ import annotations

from typing import Any

from kfdeploy.gitops.sops import DECRYPTION_SECRET
from kfdeploy.gitops.tree import ClusterExport, ExportedApp, Obj, protection
from kfdeploy.labels import PART_OF

NAMESPACE = "flux-system"
SOURCE = "kfdeploy"
PRUNE = "kustomize.toolkit.fluxcd.io/prune"
INTERVAL, RETRY = "10m", "1m"


def protect(obj: Obj) -> Obj:
    """The object with Flux's prune opt-out when kfdeploy's prune would keep it."""
    if not protection(obj):
        return obj
    meta = dict(obj["metadata"])
    meta["annotations"] = {**(meta.get("annotations") or {}), PRUNE: "disabled"}
    return {**obj, "metadata": meta}


def kustomization(export: ClusterExport, app: ExportedApp, path: str, timeout: str, decrypt: bool = False) -> Obj:
    """The application's Kustomization; ``decrypt`` when its path holds SOPS-encrypted Secrets
    (decrypted with the age identities of the ``sops-age`` Secret)."""
    spec: dict[str, Any] = {
        "interval": INTERVAL, "retryInterval": RETRY, "timeout": timeout,
        "sourceRef": {"kind": "GitRepository", "name": SOURCE},
        "path": f"./{path}", "prune": True, "wait": app.waits(),
        "commonMetadata": {"labels": {PART_OF: export.applyset}},
    }
    if app.depends_on:
        spec["dependsOn"] = [{"name": d} for d in app.depends_on]
    if decrypt:
        spec["decryption"] = {"provider": "sops", "secretRef": {"name": DECRYPTION_SECRET}}
    return {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": app.name, "namespace": NAMESPACE}, "spec": spec}


def source(export: ClusterExport, repo_url: str, branch: str) -> list[Obj]:
    """The GitRepository stub (point ``url`` at the repository) and the Kustomization that
    applies the cluster's application Kustomizations (pruning those removed from Git)."""
    repo = {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": SOURCE, "namespace": NAMESPACE},
            "spec": {"interval": RETRY, "url": repo_url, "ref": {"branch": branch}}}
    root = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": SOURCE, "namespace": NAMESPACE},
            "spec": {"interval": INTERVAL, "retryInterval": RETRY, "prune": True,
                     "sourceRef": {"kind": "GitRepository", "name": SOURCE},
                     "path": f"./clusters/{export.cluster}/flux"}}
    return [repo, root]
