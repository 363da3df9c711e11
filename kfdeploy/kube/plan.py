"""What an apply would do, per application: a pure comparison of desired objects with the live
index (content hashes), plus prune candidates. Field-level diffs are added by the caller from a
server-side dry-run, only for objects that changed. A change to an immutable field makes the
object a ``recreate`` (see ``kube.immutable``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from kfdeploy.kinds import CRD, group_kind
from kfdeploy.kube.client import FIELD_MANAGER
from kfdeploy.kube.diff import object_drift
from kfdeploy.kube.immutable import describe, needs_recreate
from kfdeploy.kube.inventory import Record
from kfdeploy.kube.live import LiveIndex
from kfdeploy.kube.migrate import keep_template_labels
from kfdeploy.kube.order import kind_rank
from kfdeploy.kube.phases import replaces_on_change
from kfdeploy.labels import HASH, SOPS_DIGEST
from kfdeploy.objects import ObjectKey, describe_key, object_key

REPLACED_ON_CHANGE = "replaced on change (helm hook with hook-delete-policy before-hook-creation)"
Action = Literal["create", "update", "recreate", "unchanged", "delete", "keep"]


@dataclass
class Change:
    action: Action
    key: ObjectKey
    desired: dict[str, Any] | None = None
    live: dict[str, Any] | None = None
    reason: str = ""
    diff: str = ""

    @property
    def label(self) -> str:
        return describe_key(self.key)

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "object": self.label}
        if self.reason:
            out["reason"] = self.reason
        if self.diff:
            out["diff"] = self.diff
        return out


@dataclass
class AppPlan:
    name: str
    changes: list[Change] = field(default_factory=list)

    def count(self, *actions: Action) -> int:
        return sum(c.action in actions for c in self.changes)

    @property
    def has_changes(self) -> bool:
        return any(c.action in ("create", "update", "recreate", "delete") for c in self.changes)

    def summary(self) -> str:
        parts = [f"{n} {a}" for a in ("create", "update", "recreate", "delete", "keep")
                 if (n := self.count(a))]
        return ", ".join(parts) if parts else "no changes"


def desired_changes(desired: list[dict[str, Any]], index: LiveIndex) -> list[Change]:
    """create / update / unchanged for each desired (already stamped) object. An object whose
    hash matches is still an update when fields we apply were changed by someone else. A
    Secret an engine decrypted from a SOPS export is judged by its fields (Git holds no hash)."""
    out: list[Change] = []
    for obj in desired:
        key = object_key(obj)
        live = index.get(key)
        if live is None:
            out.append(Change("create", key, obj))
        elif _sealed(live):
            unhashed = {**obj, "metadata": {**obj["metadata"], "annotations": {
                k: v for k, v in (obj["metadata"].get("annotations") or {}).items() if k != HASH}}}
            same = not object_drift(live, unhashed)
            out.append(Change("unchanged", key, obj, live) if same else _changed(key, obj, live))
        elif _hash(live) != _hash(obj):
            out.append(_changed(key, obj, live))
        elif drifted := object_drift(live, obj):
            out.append(Change("update", key, obj, live, "changed outside kfdeploy: " + ", ".join(drifted)))
        else:
            out.append(Change("unchanged", key, obj, live))
    return out


def _changed(key: ObjectKey, obj: dict[str, Any], live: dict[str, Any]) -> Change:
    if replaces_on_change(obj):
        return Change("recreate", key, obj, live, REPLACED_ON_CHANGE)
    if dropped := dropped_stored_versions(obj, live):
        return Change("keep", key, obj, live, f"objects are stored as {', '.join(dropped)} (status.storedVersions),"
                      " which this CRD no longer lists, so the API server refuses it: kept as it is; migrate"
                      " those objects and drop the versions from status.storedVersions to apply it")
    obj, kept = keep_template_labels(obj, live, FIELD_MANAGER, key[0])
    immutable = needs_recreate(live, obj)
    if immutable:
        return Change("recreate", key, obj, live, describe(immutable))
    reason = f"keeps {', '.join(kept)} on its immutable pod template" if kept else ""
    return Change("update", key, obj, live, reason)


def dropped_stored_versions(obj: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """Versions a CRD update no longer lists while objects are stored in them (an older release
    applied over a newer one's CRD): the API server refuses that update."""
    if group_kind(obj) != CRD:
        return []
    listed = {v.get("name") for v in (obj.get("spec") or {}).get("versions") or []}
    return [v for v in (live.get("status") or {}).get("storedVersions") or [] if v not in listed]


def prune_candidates(app: str, desired: Iterable[dict[str, Any]], index: LiveIndex,
                     record: Record | None) -> list[dict[str, Any]]:
    """Live objects of an application that it no longer renders (live by label, or recorded)."""
    wanted = {object_key(o) for o in desired}
    found = {object_key(o): o for o in index.of_application(app) if object_key(o) not in wanted}
    for key in (record.objects if record else []):
        if key not in wanted and key not in found and (live := index.get(key)) is not None:
            found[key] = live
    return sorted(found.values(), key=lambda o: -kind_rank(o.get("kind", ""), o.get("apiVersion", "")))


def _hash(obj: dict[str, Any]) -> str:
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(HASH, ""))


def _sealed(live: dict[str, Any]) -> bool:
    """Applied from a SOPS-encrypted Secret of an export (no hash of ours in Git). A hash beside
    the digest says nothing of the values: it is left by another field manager (a
    ``credentials seed`` or an ``apply`` before the switch to SOPS), which the engine's apply
    does not remove."""
    return SOPS_DIGEST in ((live.get("metadata") or {}).get("annotations") or {})
