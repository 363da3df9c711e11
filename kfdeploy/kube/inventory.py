"""What kfdeploy owns, recorded in the cluster (ApplySet, KEP-3659).

One ApplySet per KfDef: the parent is a ConfigMap ``kfdeploy.<name>`` in the ``kfdeploy-system``
namespace carrying ``applyset.kubernetes.io/id``, ``.../tooling`` and ``.../contains-group-kinds``;
every applied object carries the label ``applyset.kubernetes.io/part-of: <id>``, the application
label ``kfdeploy.io/application`` (set in render, see kfdeploy.labels) and the annotation
``kfdeploy.io/hash`` (hash of what we last applied). Beside the parent, one ConfigMap per
application records its objects, content hash and the spec hash. The inventory lives outside
every application's namespace so deleting an application never deletes the record of it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kfdeploy import __version__
from kfdeploy.kinds import CLUSTER_ROLE, group_kind
from kfdeploy.kube.client import Cluster, KubeApiError
from kfdeploy.labels import APPLICATION, APPLYSET_ID, GROUP_KINDS, HASH, OURS, PART_OF, RECORD_OF, TOOLING
from kfdeploy.objects import ObjectKey, object_key

NAMESPACE = "kfdeploy-system"
RECORD_APP = APPLICATION  # records carry the same application label as the objects

def ensure_namespace(cluster: Cluster) -> None:
    """Create (or keep) ``kfdeploy-system``, where the records and the credential store live."""
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": dict(OURS)}})


def applyset_id(name: str) -> str:
    """The KEP-3659 id of a ConfigMap parent named ``kfdeploy.<name>`` in NAMESPACE."""
    raw = f"kfdeploy.{name}.{NAMESPACE}.ConfigMap."
    digest = base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest()).decode().rstrip("=")
    return f"applyset-{digest}-v1"


def object_hash(obj: dict[str, Any]) -> str:
    """Content hash of a rendered object, ignoring our own bookkeeping (label and annotation)."""
    meta = dict(obj.get("metadata", {}))
    meta["annotations"] = {k: v for k, v in (meta.get("annotations") or {}).items() if k != HASH}
    meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if k != PART_OF}
    canon = json.dumps({**obj, "metadata": meta}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:20]


def key_str(key: ObjectKey) -> str:
    return "|".join(key)


def key_parse(text: str) -> ObjectKey:
    g, k, ns, n = text.split("|")
    return (g, k, ns, n)


def as_applied(obj: dict[str, Any]) -> dict[str, Any]:
    """A desired object as it is applied, by kfdeploy or by a GitOps engine from an export.

    An aggregated ClusterRole (one with ``aggregationRule``) goes without ``rules``: the API
    server's aggregation controller writes them, so applying them (the ``rules: []`` manifests
    carry) would fight that controller over the field on every apply.
    """
    if group_kind(obj) == CLUSTER_ROLE and obj.get("aggregationRule") and "rules" in obj:
        return {k: v for k, v in obj.items() if k != "rules"}
    return obj


def with_hash(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as applied (``as_applied``) with our hash annotation."""
    obj = as_applied(obj)
    meta = dict(obj.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), HASH: object_hash(obj)}
    return {**obj, "metadata": meta}


def stamp(obj: dict[str, Any], set_id: str) -> dict[str, Any]:
    """A copy of a desired object as applied (``with_hash``), with the ApplySet label."""
    obj = with_hash(obj)
    meta = dict(obj["metadata"])
    meta["labels"] = {**(meta.get("labels") or {}), PART_OF: set_id}
    return {**obj, "metadata": meta}


@dataclass
class Record:
    """The in-cluster record of one application."""

    application: str
    objects: list[ObjectKey] = field(default_factory=list)
    hash: str = ""
    spec_hash: str = ""
    api_versions: dict[str, str] = field(default_factory=dict)  # "group|kind" -> apiVersion
    state: str = "applied"

    def to_configmap(self, kfdef: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {
                "name": record_name(kfdef, self.application), "namespace": NAMESPACE,
                "labels": {RECORD_OF: kfdef, RECORD_APP: self.application, **OURS},
            },
            "data": {
                "objects": json.dumps([key_str(k) for k in sorted(self.objects)], indent=0),
                "apiVersions": json.dumps(self.api_versions, sort_keys=True),
                "hash": self.hash, "specHash": self.spec_hash, "state": self.state,
                "kfdeployVersion": __version__,
            },
        }

    @classmethod
    def from_configmap(cls, cm: dict[str, Any]) -> Record:
        data = cm.get("data") or {}
        return cls(
            application=cm["metadata"]["labels"][RECORD_APP],
            objects=[key_parse(k) for k in json.loads(data.get("objects", "[]"))],
            hash=data.get("hash", ""), spec_hash=data.get("specHash", ""),
            api_versions=json.loads(data.get("apiVersions", "{}")), state=data.get("state", ""),
        )


def record_name(kfdef: str, application: str) -> str:
    return f"kfdeploy.{kfdef}.{application}"


class Inventory:
    """Reads and writes the ApplySet parent and per-application records of one KfDef."""

    def __init__(self, cluster: Cluster, kfdef: str) -> None:
        self.cluster = cluster
        self.kfdef = kfdef
        self.id = applyset_id(kfdef)

    def records(self) -> dict[str, Record]:
        if not self.cluster.has_kind("v1", "Namespace"):
            return {}
        try:
            cms = self.cluster.list("v1", "ConfigMap", namespace=NAMESPACE,
                                    label_selector=f"{RECORD_OF}={self.kfdef}")
        except KubeApiError as e:
            if e.status == 404:
                return {}
            raise
        return {r.application: r for r in map(Record.from_configmap, cms)}

    def ensure_parent(self, group_kinds: Iterable[str]) -> None:
        """Create the namespace and the ApplySet parent, listing every group-kind we own; one
        GET when the parent already says all that (a no-op apply)."""
        parent = self.cluster.get(self._parent_stub()) or {}
        known = set(filter(None, (parent.get("metadata", {}).get("annotations") or {})
                           .get(GROUP_KINDS, "").split(",")))
        merged = ",".join(sorted(known | set(group_kinds)))
        wanted = self._parent(merged)
        meta = parent.get("metadata") or {}
        if all((meta.get(k) or {}).get(n) == v for k in ("labels", "annotations")
               for n, v in wanted["metadata"][k].items()):
            return
        ensure_namespace(self.cluster)
        self.cluster.apply(wanted)

    def _parent(self, group_kinds: str) -> dict[str, Any]:
        return {**self._parent_stub(), "metadata": {
            **self._parent_stub()["metadata"],
            "labels": {APPLYSET_ID: self.id, **OURS},
            "annotations": {TOOLING: f"kfdeploy/v{__version__}", GROUP_KINDS: group_kinds},
        }}

    def _parent_stub(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": f"kfdeploy.{self.kfdef}", "namespace": NAMESPACE}}

    def write(self, record: Record) -> None:
        self.cluster.apply(record.to_configmap(self.kfdef), force=True)

    def forget(self, application: str) -> None:
        self.cluster.delete({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": record_name(self.kfdef, application), "namespace": NAMESPACE}})

    def forget_all(self) -> None:
        for app in self.records():
            self.forget(app)
        self.cluster.delete(self._parent_stub())


def kep_group_kind(obj_or_key: dict[str, Any] | ObjectKey) -> str:
    """KEP-3659 spelling: ``Kind.group`` (``Kind`` for the core group)."""
    g, k = object_key(obj_or_key)[:2] if isinstance(obj_or_key, dict) else obj_or_key[:2]
    return f"{k}.{g}" if g else k
