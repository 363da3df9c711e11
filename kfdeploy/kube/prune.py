"""Prune safety: what kfdeploy may delete among the objects it owns.

Deleting is the one thing that loses data, so the rules fail closed: each kept object comes with
the reason and the flag that would delete it anyway, and a check the cluster does not answer
(403, 500, a timeout, no connection) keeps the object and says why. Only a 404 or 405 ("not
served", "cannot be listed") means there is nothing to keep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kfdeploy.errors import KfdeployError
from kfdeploy.kinds import DERIVED, Protection, rule_for, rule_of
from kfdeploy.kube.client import Cluster, KubeApiError, Resource
from kfdeploy.labels import PART_OF
from kfdeploy.objects import describe, describe_key

NOTHING_THERE = frozenset({404, 405})
"""HTTP statuses that mean a kind is not served or cannot be listed: nothing of it to keep."""



@dataclass(frozen=True)
class PruneRules:
    """What may be deleted besides unprotected objects; ``verb`` spells the override flags
    (``--prune-pvcs`` for apply, ``--delete-pvcs`` for delete)."""

    prune_pvcs: bool = False
    prune_crds: bool = False
    prune_namespaces: bool = False
    verb: str = "prune"

    def flag(self, what: str) -> str:
        return f"--{self.verb}-{what}"

    def allows(self, protection: Protection) -> bool:
        """Whether the flags let prune delete what this protection keeps: a namespace takes its
        claims' data with it, so it needs the claims' flag too."""
        return {"data": self.prune_pvcs, "custom-resources": self.prune_crds,
                "foreign-objects": self.prune_namespaces and self.prune_pvcs}.get(protection, True)


def protection(cluster: Cluster, obj: dict[str, Any], set_id: str, rules: PruneRules) -> str | None:
    """Why an owned object must be kept (with the flag that overrides), or None to delete it.
    What protects a kind is the ``protection`` column of ``kfdeploy.kinds``."""
    protected_by = rule_of(obj).protection
    if not protected_by or rules.allows(protected_by):
        return None
    if protected_by == "data":
        return f"{obj.get('kind')} holds data; {rules.flag('pvcs')} deletes it"
    check, what, flags = CHECKS[protected_by]
    return _checked(lambda: check(cluster, obj, set_id, rules), what, flags(rules))


def _checked(check: Callable[[], str | None], what: str, flag: str) -> str | None:
    """Run a safety check; when the cluster cannot answer it, keep the object and say why."""
    try:
        return check()
    except KfdeployError as e:
        return f"could not {what} ({e.message}); re-run when the cluster answers, or {flag} deletes it anyway"


def _crd_protection(cluster: Cluster, crd: dict[str, Any], set_id: str, rules: PruneRules) -> str | None:
    count, example = custom_resources(cluster, crd)
    if not count:
        return None
    return (f"{count} custom resource(s) still exist (e.g. {example}); {rules.flag('crds')} deletes the CRD "
            "and them")


def _namespace_protection(cluster: Cluster, ns: dict[str, Any], set_id: str, rules: PruneRules) -> str | None:
    """Deleting a namespace deletes everything in it: its claims (whoever made them) are data
    unless the claims' flag is given, anyone else's objects unless the namespaces' flag is."""
    name = ns["metadata"]["name"]
    claims = [] if rules.prune_pvcs else claims_in(cluster, name)
    if claims:
        return (f"holds {_shown(claims)}: deleting the namespace deletes the claim(s), and "
                f"the data of their volumes whose reclaimPolicy is Delete; {rules.flag('pvcs')} deletes them")
    foreign = [] if rules.prune_namespaces else foreign_objects(cluster, name, set_id)
    if not foreign:
        return None
    return (f"holds objects kfdeploy does not own ({_shown(foreign)}); move or delete them first, or "
            f"{rules.flag('namespaces')} deletes the namespace and them")


def _shown(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def claims_in(cluster: Cluster, namespace: str) -> list[str]:
    """Every PersistentVolumeClaim in a namespace, ours or not. Raises when the LIST cannot be
    answered (the caller keeps the namespace)."""
    items = cluster.list("v1", "PersistentVolumeClaim", namespace=namespace)
    return sorted(f"PersistentVolumeClaim/{(i.get('metadata') or {}).get('name')}" for i in items)


def custom_resources(cluster: Cluster, crd: dict[str, Any]) -> tuple[int, str]:
    """How many custom resources of a CRD exist, and one of them by name: (0, "") when none.

    The path comes from the CRD itself (its group, served versions and plural), so neither
    discovery nor a guessed plural can hide them; one small LIST answers. Raises when the
    cluster cannot answer (the caller keeps the CRD).
    """
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group", ""), names.get("plural", ""), names.get("kind", "")
    for version in [v["name"] for v in spec.get("versions") or [] if v.get("served", True)]:
        try:
            page = cluster.call("GET", f"/apis/{group}/{version}/{plural}", query={"limit": 1})
        except KubeApiError as e:
            if e.status in NOTHING_THERE:
                continue  # this version is not served (any more)
            raise
        items = page.get("items") or []
        if not items:
            return 0, ""
        example = describe({**items[0], "apiVersion": f"{group}/{version}", "kind": kind})
        remaining = (page.get("metadata") or {}).get("remainingItemCount")
        return len(items) + (remaining if isinstance(remaining, int) else 0), example
    return 0, ""


def foreign_objects(cluster: Cluster, namespace: str, set_id: str) -> list[str]:
    """Objects in a namespace that are neither ours nor derived from others (no owner), of
    every namespaced kind the cluster serves. Raises when a LIST cannot be answered."""
    found = []
    for res in _namespaced_kinds(cluster):
        try:
            items = cluster.list(res.api_version, res.kind, namespace=namespace)
        except KubeApiError as e:
            if e.status in NOTHING_THERE:
                continue
            raise
        for item in items:
            meta = item.get("metadata", {})
            if (meta.get("labels") or {}).get(PART_OF) == set_id or meta.get("ownerReferences"):
                continue
            if meta.get("name") in rule_for(res.group, res.kind).auto_created:
                continue
            found.append(describe_key((res.group, res.kind, namespace, str(meta.get("name") or ""))))
    return sorted(found)


Check = Callable[[Cluster, dict[str, Any], str, PruneRules], "str | None"]
CHECKS: dict[Protection, tuple[Check, str, Callable[[PruneRules], str]]] = {
    "custom-resources": (_crd_protection, "count its custom resources", lambda r: r.flag("crds")),
    "foreign-objects": (_namespace_protection, "list the claims and objects in it",
                        lambda r: f"{r.flag('namespaces')} with {r.flag('pvcs')}"),
}
"""Protections that ask the cluster: the check, what it asks (for the kept reason), the flags.
``data`` needs no question (see ``protection``)."""


def _namespaced_kinds(cluster: Cluster) -> list[Resource]:
    """One served version of every namespaced kind, except records derived from other objects."""
    by_group_kind: dict[tuple[str, str], Resource] = {}
    for res in cluster.resources().values():
        if res.namespaced and (res.group, res.kind) not in DERIVED:
            by_group_kind.setdefault((res.group, res.kind), res)
    return sorted(by_group_kind.values(), key=lambda r: (r.group, r.kind))
