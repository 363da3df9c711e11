"""Replacing objects whose changes the API server will not take in place (``apply --recreate``).

Each object is deleted and applied again in its apply wave, so the order of the application
holds. A workload is deleted with ``propagationPolicy: Orphan``: its ReplicaSets or Pods keep
serving while the new workload starts; once the application is healthy, the orphans that the new
workload did not adopt are deleted. A StatefulSet's pods have fixed names, so the orphans its new
selector does not match are deleted at once (they would block the new pods of the same name).

Never recreated: PersistentVolumeClaims (deleting one deletes its data) and CRDs (deleting one
deletes every custom resource of it). A plan that needs either is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kfdeploy.errors import ApplyError, UsageError
from kfdeploy.kinds import rule_of
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.order import selector_matches
from kfdeploy.kube.phases import replaces_on_change
from kfdeploy.kube.plan import Change
from kfdeploy.kube.wait import CRD_POLLER
from kfdeploy.objects import describe
from kfdeploy.poll import Poller


# (group, kind) -> the kind of what its controller owns, which an orphan-delete leaves running.
def refusal(live: dict[str, Any]) -> str | None:
    """Why kfdeploy will not recreate this object itself, or None."""
    why = rule_of(live).never_recreate
    return f"kfdeploy never recreates a {live.get('kind')}: {why}" if why else None


@dataclass
class Replacement:
    """One object being recreated, and the children its old self left behind."""

    live: dict[str, Any]
    orphans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return describe(self.live)


def remove(cluster: Cluster, live: dict[str, Any], deadline: float, poller: Poller = CRD_POLLER) -> Replacement:
    """Delete ``live`` so it can be applied again; return it with its orphaned children."""
    orphans = rule_of(live).orphans
    replacement = Replacement(live)
    if orphans is not None:
        replacement.orphans = _children(cluster, live, *orphans)
        cluster.delete(live, propagation="Orphan")
    else:
        cluster.delete(live, propagation="Background")
    _wait_gone(cluster, live, deadline, poller)
    return replacement


def _children(cluster: Cluster, live: dict[str, Any], api_version: str, kind: str) -> list[dict[str, Any]]:
    uid = live["metadata"].get("uid")
    ns = live["metadata"].get("namespace")
    return [c for c in cluster.list(api_version, kind, namespace=ns)
            if any(r.get("uid") == uid for r in c["metadata"].get("ownerReferences") or [])]


def _wait_gone(cluster: Cluster, live: dict[str, Any], deadline: float, poller: Poller) -> None:
    uid = live["metadata"].get("uid")

    def gone() -> bool:
        now = cluster.get(live)
        return now is None or now["metadata"].get("uid") != uid

    if not poller.poll(gone, bool, deadline):
        raise ApplyError(f"{describe(live)}: still there after its delete, before the timeout; "
                         f"cannot recreate it", hint="kubectl get -o yaml shows the finalizers that hold it")


def release_blocking(cluster: Cluster, replacement: Replacement, new: dict[str, Any]) -> int:
    """Right after the new object is applied: delete the orphans that would block its pods."""
    if not rule_of(new).named_children:
        return 0
    selector = (new.get("spec") or {}).get("selector")
    blocking = [o for o in replacement.orphans
                if not selector_matches(selector, o["metadata"].get("labels") or {})]
    replacement.orphans = [o for o in replacement.orphans if o not in blocking]
    return _delete_unadopted(cluster, blocking)


def release(cluster: Cluster, replacements: Iterable[Replacement]) -> int:
    """Once the application is healthy: delete the orphans that no controller adopted."""
    return sum(_delete_unadopted(cluster, r.orphans) for r in replacements)


def _delete_unadopted(cluster: Cluster, orphans: list[dict[str, Any]]) -> int:
    deleted = 0
    for orphan in orphans:
        now = cluster.get(orphan)
        if now is None or now["metadata"].get("uid") != orphan["metadata"].get("uid"):
            continue
        if any(r.get("controller") for r in now["metadata"].get("ownerReferences") or []):
            continue  # adopted by the new workload, which rolls it itself
        deleted += cluster.delete(now)
    return deleted


class RecreateRequired(UsageError):
    """The plan changes immutable fields and ``--recreate`` was not given (or cannot help)."""


def gate(changes: Iterable[Change], allowed: bool) -> None:
    """Refuse, before anything changes, a plan with recreates that are not allowed, or that
    kfdeploy never does; every object is named with its fields."""
    recreates = [c for c in changes if c.action == "recreate"]
    never = [(c, why) for c in recreates if (why := refusal(c.live or c.desired or {}))]
    needed = [c for c in recreates if not replaces_on_change(c.desired)]
    if never:
        raise RecreateRequired(
            "cannot apply: these changes need delete-and-recreate, which kfdeploy never does for them:\n"
            + "\n".join(f"  - {c.label}: {c.reason}; {why}" for c, why in never),
            hint="revert the change in the spec; or move the data yourself, delete the object, "
                 "and re-run apply (it creates the new one)")
    if needed and not allowed:
        raise RecreateRequired(
            f"{len(needed)} object(s) must be deleted and recreated to apply this spec:\n"
            + "\n".join(f"  - {c.label}: {c.reason}" for c in needed),
            hint="re-run with --recreate to replace them (workloads are deleted with their pods "
                 "orphaned, so those serve until the new ones are ready), or revert the change")
