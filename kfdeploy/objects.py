"""How kfdeploy names a Kubernetes object: one identity, one sort key, one display.

The identity is (group, kind, namespace, name), what the API server treats as the same object
across versions; every dict of objects is keyed by it, never by its display. The display is
``Kind/namespace/name`` (``Kind/name`` when cluster-scoped), with the group after the kind
(``Service.serving.knative.dev/ns/x``) unless the kind is one of Kubernetes' own, so that two
objects never read alike. Every message, plan line and ``-o json`` field uses it.

Render and the cluster side both name objects, so this module sits at the top of the package
with the kinds table it reads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from kfdeploy.kinds import BUILTIN_KINDS, api_group, rule_for

ObjectKey = tuple[str, str, str, str]
"""(group, kind, namespace, name); namespace is "" for cluster-scoped objects."""

_KIND_NAMES = Counter(kind for group, kind in BUILTIN_KINDS if group)
_BARE = frozenset((g, k) for g, k in BUILTIN_KINDS if not g or (_KIND_NAMES[k] == 1 and ("", k) not in BUILTIN_KINDS))
"""Kinds shown without their group: the core group's, and the other built-in kinds whose name no
other built-in kind shares (``Event`` of ``events.k8s.io`` keeps its group, the core one does not)."""


def meta_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """An object's metadata, or {} when it has none."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def object_key(obj: Mapping[str, Any]) -> ObjectKey:
    """(group, kind, namespace, name) of an object; missing fields read as ''."""
    meta = meta_of(obj)
    return (
        api_group(str(obj.get("apiVersion") or "")),
        str(obj.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def describe_key(key: ObjectKey) -> str:
    """``Kind[.group]/namespace/name``, or ``Kind[.group]/name`` when cluster-scoped."""
    group, kind, namespace, name = key
    shown = kind if (group, kind) in _BARE else f"{kind or '?'}.{group}" if group else kind or "?"
    return f"{shown}/{namespace}/{name or '?'}" if namespace else f"{shown}/{name or '?'}"


def describe(obj: Mapping[str, Any]) -> str:
    """The display of an object (``describe_key`` of its identity), for every message."""
    return describe_key(object_key(obj))


def sort_key(obj: Mapping[str, Any]) -> tuple[int, str, str]:
    """(rank of its kind in apply order, namespace, name): the order objects are applied in."""
    group, kind, namespace, name = object_key(obj)
    return rule_for(group, kind).rank, namespace, name
