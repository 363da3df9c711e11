"""Delete everything one KfDef owns, beside apply: webhook configurations and APIServices first
(so a webhook whose backend is going cannot block the rest), then each application in reverse
dependency order and reverse kind order, keeping what the prune rules protect; then wait for
the deleted namespaces to go and keep a record only of what was kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kfdeploy.errors import PruneError
from kfdeploy.kinds import NAMESPACE, group_kind
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.inventory import Inventory, Record
from kfdeploy.kube.live import LiveIndex, kinds_to_list
from kfdeploy.kube.order import ADMISSION_KINDS, delete_order
from kfdeploy.kube.prune import PruneRules, protection
from kfdeploy.objects import ObjectKey, describe_key, object_key
from kfdeploy.poll import Poller

Progress = Callable[[str, str, str], None]  # (application, state, detail)
NAMESPACE_TIMEOUT = 300.0
NAMESPACE_HINT = ("kubectl get ns NAME -o yaml shows the conditions that block it (often finalizers of "
                  "custom resources)")


@dataclass
class Deleted:
    """How many objects were deleted, and each kept object with the reason."""

    deleted: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)


def delete_owned(cluster: Cluster, kfdef: str, spec_hash: str, rendered: Sequence[tuple[str, list[dict[str, Any]]]],
                 rules: PruneRules, progress: Progress, line: Callable[[str], None],
                 poller: Poller | None = None) -> Deleted:
    """Delete what the KfDef's ApplySet holds. ``rendered`` (application, objects) in apply
    order gives the reverse order to delete in; applications found only in the cluster go last."""
    inventory = Inventory(cluster, kfdef)
    records = inventory.records()
    desired = [o for _, objs in rendered for o in objs]
    index = LiveIndex.fetch(cluster, inventory.id, kinds_to_list(desired, records.values()))
    by_app = index.applications()
    order = [name for name, _ in rendered]
    apps = [a for a in reversed(order) if a in by_app] + sorted(set(by_app) - set(order))
    first = [o for k, o in index.by_key.items() if k[:2] in ADMISSION_KINDS]
    first_keys = {object_key(o) for o in first}
    kept: dict[ObjectKey, str] = {}
    kept_in: dict[str, list[str]] = {}  # namespace -> kept objects in it, displayed
    deleted = 0
    for app in ["(admission)", *apps]:
        objs = first if app == "(admission)" else [o for o in by_app[app] if object_key(o) not in first_keys]
        progress(app, "deleting", f"{len(objs)} object(s)")
        for obj in delete_order(objs):
            key = object_key(obj)
            held = kept_in.get(obj["metadata"]["name"]) if group_kind(obj) == NAMESPACE else None
            reason = (f"holds kept objects: {', '.join(held)}" if held
                      else protection(cluster, obj, inventory.id, rules))
            if reason:
                kept[key] = reason
                kept_in.setdefault(obj["metadata"].get("namespace", ""), []).append(describe_key(key))
                continue
            deleted += cluster.delete(obj)
        progress(app, "pruned", f"{len(objs)} object(s)")
    gone = [o["metadata"]["name"] for o in index.by_key.values()
            if group_kind(o) == NAMESPACE and object_key(o) not in kept]
    wait_namespaces_gone(cluster, gone, poller or Poller.real(1.0), line)
    _keep_records_of(inventory, records, kept, spec_hash)
    return Deleted(deleted, [(describe_key(k), why) for k, why in sorted(kept.items())])


def wait_namespaces_gone(cluster: Cluster, names: list[str], poller: Poller, line: Callable[[str], None],
                         timeout: float = NAMESPACE_TIMEOUT) -> None:
    """Wait until the namespaces no longer exist (their contents are deleted first)."""
    left = list(names)

    def present() -> list[str]:
        left[:] = [n for n in left if cluster.get(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}) is not None]
        return left

    if left:
        replace(poller, error=PruneError, hint=NAMESPACE_HINT).until(
            present, lambda pending: not pending, lambda: f"waiting for namespace(s) to go: {', '.join(left)}",
            timeout, line)


def _keep_records_of(inventory: Inventory, records: dict[str, Record], kept: dict[ObjectKey, str],
                     spec_hash: str) -> None:
    """Rewrite each application's record to hold only what was kept; drop the rest."""
    for app, record in records.items():
        left = [k for k in record.objects if k in kept]
        if left:
            inventory.write(Record(app, left, spec_hash=spec_hash, state="removed",
                                   api_versions=record.api_versions))
        else:
            inventory.forget(app)
    if not kept:
        inventory.forget_all()
