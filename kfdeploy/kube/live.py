"""The live side of a KfDef: every object carrying our ApplySet label, fetched with one LIST
per kind (never one GET per object), indexed by key and by application.

Applications apply in parallel threads and each folds what it applied back in, so every read
of the whole index is a snapshot taken under the index's lock."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from kfdeploy.kinds import CRD, group_kind
from kfdeploy.kube.client import Cluster, KubeApiError
from kfdeploy.kube.inventory import Record
from kfdeploy.labels import PART_OF, application_of
from kfdeploy.objects import ObjectKey, object_key


class LiveIndex:
    """Live objects of one ApplySet, by key."""

    def __init__(self, objects: Iterable[dict[str, Any]] = ()) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[ObjectKey, dict[str, Any]] = {object_key(o): slim(o) for o in objects}

    @property
    def by_key(self) -> dict[ObjectKey, dict[str, Any]]:
        """A snapshot: safe to iterate while other applications update the index."""
        with self._lock:
            return dict(self._by_key)

    @classmethod
    def fetch(cls, cluster: Cluster, set_id: str, kinds: Iterable[tuple[str, str]]) -> LiveIndex:
        """LIST each (apiVersion, kind) the cluster serves, filtered by our ApplySet label."""
        found: list[dict[str, Any]] = []
        for api_version, kind in sorted(set(kinds)):
            if not cluster.has_kind(api_version, kind):
                continue  # e.g. a CRD not installed yet: nothing of it can be live
            try:
                found.extend(cluster.list(api_version, kind, label_selector=f"{PART_OF}={set_id}"))
            except KubeApiError as e:
                if e.status not in (404, 405):
                    raise
        return cls(found)

    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        with self._lock:
            return self._by_key.get(key)

    def of_application(self, app: str) -> list[dict[str, Any]]:
        return [o for o in self.by_key.values() if application_of(o) == app]

    def applications(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for o in self.by_key.values():
            out[application_of(o)].append(o)
        return out

    def update(self, objs: Iterable[dict[str, Any]]) -> None:
        slimmed = {object_key(o): slim(o) for o in objs}
        with self._lock:
            self._by_key.update(slimmed)

    def drop(self, key: ObjectKey) -> None:
        with self._lock:
            self._by_key.pop(key, None)


def slim(live: dict[str, Any]) -> dict[str, Any]:
    """A live object as the index keeps it: a CRD without its managedFields, whose field set
    mirrors the whole schema (as large as the CRD itself) and which nothing reads from here.
    Other objects keep theirs: the plan reads what kfdeploy applied on Job templates."""
    if group_kind(live) == CRD:
        (live.get("metadata") or {}).pop("managedFields", None)
    return live


def kinds_to_list(desired: Iterable[dict[str, Any]], records: Iterable[Record]) -> set[tuple[str, str]]:
    """Every (apiVersion, kind) we might own: what we render now and what we recorded before."""
    kinds = {(o["apiVersion"], o["kind"]) for o in desired}
    by_group_kind = {(k.rpartition("/")[0], kind) for k, kind in kinds}
    for rec in records:
        for g, k, _, _ in rec.objects:
            if (g, k) in by_group_kind:
                continue
            api_version = rec.api_versions.get(f"{g}|{k}")
            if api_version:
                kinds.add((api_version, k))
                by_group_kind.add((g, k))
    return kinds
