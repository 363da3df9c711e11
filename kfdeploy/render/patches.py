"""Patches for rendered objects, kustomize-style: strategic merge and JSON 6902, with targets.

A strategic-merge patch is a partial object: mappings merge, ``null`` deletes a key, and lists
of built-in kinds merge by their key (containers by ``name``, ports by ``containerPort``...,
``MERGE_KEYS``); other lists, and every list of a custom resource, are replaced. The
``$patch: delete`` / ``$patch: replace`` directives work as in kubectl. A JSON 6902 patch is a
list of operations (RFC 6902). A target selects objects by group, version, kind, name and
namespace (regular expressions, whole match) and label/annotation selectors.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jsonpatch

from kfdeploy.errors import RenderError
from kfdeploy.objects import describe

if TYPE_CHECKING:
    from kfdeploy.spec import PatchTarget

Obj = dict[str, Any]
# list field -> the item keys that identify an item, first present wins (Kubernetes' patchMergeKey)
MERGE_KEYS: Mapping[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "volumeMounts": ("mountPath",),
    "ports": ("containerPort", "port"), "imagePullSecrets": ("name",), "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey",), "conditions": ("type",),
    "resourceClaims": ("name",), "subsets": ("addresses",),
}
DIRECTIVE = "$patch"
SELECTOR = re.compile(r"^\s*(?P<neg>!)?\s*(?P<key>[^\s=!(),]+)\s*"
                      r"(?:(?P<op>==|=|!=)\s*(?P<value>[^\s,()]*)|\s+(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?\s*$")


def is_builtin(api_version: Any) -> bool:
    """Built-in kinds carry merge keys; custom resources merge like a JSON merge patch."""
    group = str(api_version).rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def merge(live: Any, patch: Any, builtin: bool, field: str = "") -> Any:
    """``live`` with the strategic-merge ``patch`` applied (neither is modified)."""
    if isinstance(patch, dict) and isinstance(live, dict):
        if patch.get(DIRECTIVE) == "replace":
            return {k: v for k, v in patch.items() if k != DIRECTIVE}
        out = dict(live)
        for key, value in patch.items():
            if key == DIRECTIVE:
                continue
            if value is None or (isinstance(value, dict) and value.get(DIRECTIVE) == "delete"):
                out.pop(key, None)
            else:
                out[key] = merge(live.get(key), value, builtin, key)
        return out
    if isinstance(patch, list) and isinstance(live, list) and builtin and field in MERGE_KEYS:
        return merge_list(live, patch, MERGE_KEYS[field], builtin)
    return strip_directives(patch)


def strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_directives(v) for k, v in value.items() if k != DIRECTIVE}
    if isinstance(value, list):
        return [strip_directives(v) for v in value]
    return value


def item_key(item: Any, keys: tuple[str, ...]) -> tuple[str, Any] | None:
    if not isinstance(item, dict):
        return None
    return next(((k, item[k]) for k in keys if k in item), None)


def merge_list(live: list[Any], patch: list[Any], keys: tuple[str, ...], builtin: bool) -> list[Any]:
    out = list(live)
    for item in patch:
        key = item_key(item, keys)
        at = next((i for i, cur in enumerate(out) if key and item_key(cur, (key[0],)) == key), None)
        if isinstance(item, dict) and item.get(DIRECTIVE) == "delete":
            out = out if at is None else out[:at] + out[at + 1:]
        elif at is None:
            out.append(strip_directives(item))
        else:
            out[at] = merge(out[at], item, builtin)
    return out


def selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (``a=b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``, ``a notin (x)``)."""
    for term in split_terms(selector):
        m = SELECTOR.match(term)
        if m is None:
            raise ValueError(f"cannot parse selector term {term!r}")
        key, have = m["key"], labels.get(m["key"])
        if m["set"]:
            values = {v.strip() for v in m["values"].split(",")}
            ok = (have in values) if m["set"] == "in" else (have not in values)
        elif m["op"]:
            ok = (have == m["value"]) if m["op"] in ("=", "==") else (have != m["value"])
        else:
            ok = (key in labels) != bool(m["neg"])
        if not ok:
            return False
    return True


def split_terms(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, cur = [], 0, ""
    for ch in selector:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    return [t for t in terms + [cur] if t.strip()]


def full_match(pattern: str | None, value: str) -> bool:
    return pattern is None or re.fullmatch(pattern, value) is not None


def target_matches(target: PatchTarget, obj: Obj, default_ns: str) -> bool:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    meta = obj.get("metadata") or {}
    checks = [
        target.group is None or target.group == group,
        target.version is None or target.version == version,
        target.kind is None or target.kind == obj.get("kind"),
        full_match(target.name, str(meta.get("name", ""))),
        full_match(target.namespace, str(meta.get("namespace") or default_ns)),
    ]
    if not all(checks):
        return False
    labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
    return ((target.label_selector is None or selector_matches(target.label_selector, labels))
            and (target.annotation_selector is None or selector_matches(target.annotation_selector, notes)))


def names_object(patch: Obj, obj: Obj, default_ns: str) -> bool:
    """A strategic-merge patch without target patches the object it names."""
    pmeta, meta = patch.get("metadata") or {}, obj.get("metadata") or {}
    same_group = str(patch.get("apiVersion", "")).rpartition("/")[0] == str(obj.get("apiVersion")).rpartition("/")[0]
    ns_ok = "namespace" not in pmeta or pmeta["namespace"] == (meta.get("namespace") or default_ns)
    return same_group and patch.get("kind") == obj.get("kind") and pmeta.get("name") == meta.get("name") and ns_ok


def json6902(obj: Obj, ops: list[Any]) -> Obj:
    try:
        result: Obj = jsonpatch.JsonPatch(ops).apply(obj)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as e:
        raise ValueError(str(e) or type(e).__name__) from e
    return result


def apply_patch(obj: Obj, body: Any, targeted: bool) -> Obj:
    """One patch on one object: a list is JSON 6902, a mapping a strategic merge."""
    if isinstance(body, list):
        return json6902(copy.deepcopy(obj), body)
    if targeted:  # the target names the objects; the patch's own identity is not a change
        meta = {k: v for k, v in (body.get("metadata") or {}).items() if k not in ("name", "namespace")}
        body = {**{k: v for k, v in body.items() if k not in ("apiVersion", "kind", "metadata")},
                **({"metadata": meta} if meta else {})}
    merged: Obj = merge(obj, body, is_builtin(obj.get("apiVersion")))
    return merged


def patch_objects(objects: list[Obj], body: Any, target: PatchTarget | None, default_ns: str,
                  where: str) -> list[Obj]:
    """Apply one patch to every object it selects; a patch that selects nothing is an error."""
    if target is None and not isinstance(body, dict):
        raise RenderError(f"{where}: a JSON 6902 patch needs a target", hint="add target: {kind: ..., name: ...}")
    if not isinstance(body, (dict, list)):
        raise RenderError(f"{where}: a patch is a partial object or a list of JSON 6902 operations")
    out, hits = [], 0
    for obj in objects:
        try:
            hit = target_matches(target, obj, default_ns) if target else \
                isinstance(body, dict) and names_object(body, obj, default_ns)
            if hit:
                hits += 1
                obj = apply_patch(obj, body, target is not None)
        except ValueError as e:
            raise RenderError(f"{where}: cannot patch {describe(obj)}: {e}") from e
        out.append(obj)
    if not hits:
        raise RenderError(f"{where}: the patch matches no rendered object",
                          hint="check its target (or apiVersion/kind/metadata.name); `kfdeploy show -a"
                               " <application>` lists the objects")
    return out
