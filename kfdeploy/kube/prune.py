"""Prune safety: what kfdeploy may delete among the objects it owns.

Deleting is the one thing that loses data, so the rules are conservative and each kept object
comes with the reason and the flag that would delete it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kfdeploy.kube.client import Cluster, KubeApiError
from kfdeploy.kube.inventory import PART_OF

# Kinds whose objects in a namespace count as "someone else's" if we do not own them.
_CORE_KINDS = (("v1", "Pod"), ("v1", "PersistentVolumeClaim"), ("v1", "ConfigMap"), ("v1", "Secret"),
               ("v1", "Service"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
               ("batch/v1", "Job"))
_AUTO_CREATED = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}


@dataclass(frozen=True)
class PruneRules:
    prune_pvcs: bool = False
    prune_crds: bool = False
    prune_namespaces: bool = False
    verb: str = "prune"  # the flags that override are --<verb>-pvcs / --<verb>-crds


def protection(cluster: Cluster, obj: dict[str, Any], set_id: str, rules: PruneRules) -> str | None:
    """Why an owned object must be kept (with the flag that overrides), or None to delete it."""
    kind = obj.get("kind")
    if kind == "PersistentVolumeClaim" and not rules.prune_pvcs:
        return f"PersistentVolumeClaim holds data; --{rules.verb}-pvcs deletes it"
    if kind == "CustomResourceDefinition" and not rules.prune_crds:
        n = custom_resource_count(cluster, obj)
        if n:
            return f"{n} custom resource(s) still exist; --{rules.verb}-crds deletes the CRD and them"
    if kind == "Namespace" and not rules.prune_namespaces:
        foreign = foreign_objects(cluster, obj["metadata"]["name"], set_id)
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            return f"holds objects kfdeploy does not own ({shown}); move or delete them first"
    return None


def custom_resource_count(cluster: Cluster, crd: dict[str, Any]) -> int:
    spec = crd.get("spec") or {}
    group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
    versions = [v["name"] for v in spec.get("versions") or [] if v.get("served", True)]
    for version in versions[:1]:
        try:
            return len(cluster.list(f"{group}/{version}", kind))
        except Exception:  # not served (any more): nothing to keep
            return 0
    return 0


def foreign_objects(cluster: Cluster, namespace: str, set_id: str) -> list[str]:
    """Objects in a namespace that are neither ours nor derived from ours (no owner)."""
    kinds = list(_CORE_KINDS) + [
        (r.api_version, r.kind) for r in cluster.resources().values()
        if r.namespaced and "." in r.group and not r.group.endswith(".k8s.io")
        and r.version == _preferred(cluster, r.group)]
    found = []
    for api_version, kind in kinds:
        try:
            items = cluster.list(api_version, kind, namespace=namespace)
        except KubeApiError:
            continue
        for item in items:
            meta = item.get("metadata", {})
            if (meta.get("labels") or {}).get(PART_OF) == set_id or meta.get("ownerReferences"):
                continue
            if (kind, meta.get("name")) in _AUTO_CREATED:
                continue
            found.append(f"{kind}/{meta.get('name')}")
    return sorted(found)


def _preferred(cluster: Cluster, group: str) -> str:
    versions = sorted(r.version for r in cluster.resources().values() if r.group == group)
    return versions[0] if versions else ""
