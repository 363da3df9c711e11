"""The shape of every rendered object, checked before anything reads it.

A jsonnet or helm source can emit ``metadata`` as a list, labels as a string or a CRD whose
``names.kind`` is a list; the stages after extraction (namespacing, labels, selectors, images,
secret checksums, the CRD scope table) read those fields as the API defines them. So each field
kfdeploy reads is declared here with the type the API gives it, and an object of the wrong shape
is reported with its index, kind and name instead of failing deep inside a later stage.
"""

from __future__ import annotations

import json
from typing import Any

from kfdeploy.kinds import CONFIG_MAP, CRD, POD, SECRET
from kfdeploy.objects import describe, object_key

MAPPING, LIST, STRING, STRINGS = "a mapping", "a list", "a string", "a mapping of strings"
ANY = ("", "")

# ((group, kind) it applies to, ANY for every kind; dotted path, "*" for each list item; shape)
RULES: tuple[tuple[tuple[str, str], str, str], ...] = (
    (ANY, "apiVersion", STRING),
    (ANY, "kind", STRING),
    (ANY, "metadata", MAPPING),
    (ANY, "metadata.name", STRING),
    (ANY, "metadata.namespace", STRING),
    (ANY, "metadata.labels", STRINGS),
    (ANY, "metadata.annotations", STRINGS),
    (ANY, "spec", MAPPING),
    (ANY, "spec.selector", MAPPING),
    (ANY, "spec.template", MAPPING),
    (ANY, "spec.template.metadata", MAPPING),
    (ANY, "spec.template.metadata.labels", STRINGS),
    (ANY, "spec.template.metadata.annotations", STRINGS),
    (ANY, "spec.template.spec", MAPPING),
    (ANY, "spec.template.spec.containers", LIST),
    (ANY, "spec.template.spec.containers.*", MAPPING),
    (ANY, "spec.template.spec.initContainers", LIST),
    (ANY, "spec.template.spec.initContainers.*", MAPPING),
    (ANY, "spec.template.spec.volumes", LIST),
    (ANY, "spec.template.spec.volumes.*", MAPPING),
    (POD, "spec.containers", LIST),
    (POD, "spec.containers.*", MAPPING),
    (CONFIG_MAP, "data", STRINGS),
    (SECRET, "data", STRINGS),
    (SECRET, "stringData", STRINGS),
    (CRD, "spec.group", STRING),
    (CRD, "spec.scope", STRING),
    (CRD, "spec.names", MAPPING),
    (CRD, "spec.names.kind", STRING),
    (CRD, "spec.names.plural", STRING),
    (CRD, "spec.versions", LIST),
    (CRD, "spec.versions.*", MAPPING),
)


def problems(obj: Any) -> list[str]:
    """``<path> must be <shape>, got <what>`` for each declared field of the wrong shape."""
    if not isinstance(obj, dict):
        return [f"must be a mapping, got {_what(obj)}"]
    kind = object_key(obj)[:2]
    out: list[str] = []
    for applies_to, path, shape in RULES:
        if applies_to not in (ANY, kind):
            continue
        for where, value in _values(obj, path.split(".")):
            if not _fits(value, shape):
                out.append(f"{where} must be {shape}, got {_what(value)}")
    return out


def _values(value: Any, parts: list[str], where: str = "") -> list[tuple[str, Any]]:
    """The values at a dotted path (each item for "*"); absent parts and parents of the wrong
    shape yield nothing (the parent's own rule reports those)."""
    if not parts:
        return [(where, value)]
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = value if isinstance(value, list) else []
        return [v for i, item in enumerate(items) for v in _values(item, rest, f"{where}[{i}]")]
    if not isinstance(value, dict) or value.get(head) is None:
        return []
    return _values(value[head], rest, f"{where}.{head}" if where else head)


def _fits(value: Any, shape: str) -> bool:
    if shape == STRINGS:
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    return isinstance(value, {MAPPING: dict, LIST: list, STRING: str}[shape])


def _what(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except (ValueError, RecursionError):  # a value that contains itself (a YAML alias)
        return f"{type(value).__name__} that contains itself"
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def label(index: int, obj: Any) -> str:
    """``object [3] (Deployment.apps/ns/web)``: its place in the output and whatever identity it has."""
    return f"object [{index}] ({describe(obj)})" if isinstance(obj, dict) else f"object [{index}]"
