"""Rules across the document (unique names, no dependency loops), run on the raw YAML data.

They run on the raw data, not the validated model, so they report alongside field errors in
one pass: a spec with a typo and a duplicate application name shows both at once. Every
helper tolerates any shape, because shape errors are pydantic's to report. Rules that need the
component library (unknown components, params, dependsOn names and cycles) belong to the renderer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kfdeploy.spec.yamlio import YamlDoc, format_path

Loc = tuple[Any, ...]
POOL_LISTS: tuple[Loc, ...] = (
    ("spec", "platform", "gke", "cluster", "nodePools"),
    ("spec", "platform", "eks", "cluster", "nodeGroups"),
    ("spec", "platform", "kwok", "nodePools"),
)


def document_problems(doc: YamlDoc) -> list[str]:
    """Every cross-field problem of the document."""
    problems = _unique_names(doc, ("spec", "applications"), "application")
    problems += _unique_names(doc, ("spec", "secrets"), "secret")
    for loc in POOL_LISTS:
        problems += _unique_names(doc, loc, "node pool" if "nodePools" in loc else "node group")
    problems += _unique_names(doc, ("spec", "repos"), "repo")
    problems += _repo_refs(doc)
    problems += _unique_overlays(doc)
    problems += _depends_on(doc)
    return problems


def _get(data: Any, loc: Loc) -> Any:
    for part in loc:
        if isinstance(part, str) and isinstance(data, dict):
            data = data.get(part)
        elif isinstance(part, int) and isinstance(data, list) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _named_items(data: Any, loc: Loc) -> Iterator[tuple[int, str]]:
    """``(index, name)`` of the list items at ``loc`` that have a string name."""
    items = _get(data, loc)
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            yield i, item["name"]


def _at(doc: YamlDoc, loc: Loc) -> str:
    return f"{format_path(loc)}{doc.where(loc)}"


def _unique_names(doc: YamlDoc, loc: Loc, what: str) -> list[str]:
    first: dict[str, int] = {}
    out = []
    for i, name in _named_items(doc.data, loc):
        if name in first:
            out.append(f"{_at(doc, loc + (i, 'name'))}: duplicate {what} name {name!r} "
                       f"(also {format_path(loc + (first[name],))}); names must be unique")
        first.setdefault(name, i)
    return out


def _repo_refs(doc: YamlDoc) -> list[str]:
    """Every kustomize.repo names a spec.repos entry."""
    repos = [name for _, name in _named_items(doc.data, ("spec", "repos"))]
    out = []
    for i, _ in _named_items(doc.data, ("spec", "applications")):
        loc = ("spec", "applications", i, "kustomize", "repo")
        ref = _get(doc.data, loc)
        if isinstance(ref, str) and ref not in repos:
            listed = ", ".join(repos) if repos else "none"
            out.append(f"{_at(doc, loc)}: no repo named {ref!r} in spec.repos (listed: {listed}); "
                       "add it to spec.repos, or omit repo for paths relative to the spec")
    return out


def _unique_overlays(doc: YamlDoc) -> list[str]:
    overlays = _get(doc.data, ("spec", "overlays"))
    out, seen = [], set()
    for i, name in enumerate(overlays if isinstance(overlays, list) else []):
        if isinstance(name, str) and name in seen:
            out.append(f"{_at(doc, ('spec', 'overlays', i))}: overlay {name!r} is listed twice")
        if isinstance(name, str):
            seen.add(name)
    return out


def _depends_on(doc: YamlDoc) -> list[str]:
    """Self-dependencies in the spec's own dependsOn lists. Whether a name exists, is enabled,
    and whether the dependencies form a cycle is the renderer's call (``render.params``):
    platform add-ons and components' default dependsOn take part, which only it knows."""
    out = []
    for i, name in _named_items(doc.data, ("spec", "applications")):
        deps = _get(doc.data, ("spec", "applications", i, "dependsOn"))
        for j, dep in enumerate(deps if isinstance(deps, list) else []):
            if dep == name:
                out.append(f"{_at(doc, ('spec', 'applications', i, 'dependsOn', j))}: "
                           f"application {name!r} depends on itself")
    return out
