"""An official manifests release split into applications, built and checked.

``kfdeploy init --manifests`` groups the folders of the release's ``example`` kustomization into
applications (templates.manifests); here each application is built with the same kustomize
runner that render uses, the example's kustomize Components are given to the applications whose
objects they change (tried, not guessed), and the split is checked against ``kustomize build
example``: every object once, none lost, none twice, each byte for byte the same.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfdeploy.errors import RenderError
from kfdeploy.graph import stable_order
from kfdeploy.objects import describe, object_key
from kfdeploy.render import kustomize
from kfdeploy.render.patches import patch_objects
from kfdeploy.render.process import extract, validate
from kfdeploy.spec.sources import PatchTarget
from kfdeploy.templates.manifests import EXAMPLE, LayoutError, ManifestApp, dependencies, group, parse_example

Obj = dict[str, Any]
Report = Callable[[str], None]


def build_app(root: Path, app: ManifestApp, components: Iterable[str] = ()) -> list[Obj]:
    comps = [(root / c).resolve() for c in [*app.components, *components]]
    return [o for p in app.paths for o in extract(kustomize.build(app.name, (root / p).resolve(), p, comps))]


def canonical(obj: Obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _names_in(folder: Path) -> set[str]:
    """``name:`` values written in a component's files: the objects it most likely changes."""
    text = " ".join(p.read_text(errors="replace") for p in folder.glob("*.y*ml"))
    return set(re.findall(r"\bname:\s*['\"]?([a-z0-9][-a-z0-9.]*)", text))


def _named(root: Path, component: str, apps: list[ManifestApp],
           built: dict[str, list[Obj]]) -> list[ManifestApp]:
    """Applications holding an object the component names (generated names carry a hash)."""
    names = _names_in(root / component)
    return [a for a in apps if any(o["metadata"]["name"] in names or
                                   any(o["metadata"]["name"].startswith(n + "-") for n in names)
                                   for o in built[a.name])]


def place_components(root: Path, components: list[str], apps: list[ManifestApp],
                     built: dict[str, list[Obj]], report: Report) -> None:
    """Give each component to the applications holding the objects it names and building with
    it; when it names none, to those whose build it changes. The split check has the last word."""
    for component in components:
        named = _named(root, component, apps, built)
        placed = []
        for app in named or apps:
            try:
                changed = build_app(root, app, [component])
            except RenderError:
                continue  # e.g. a merge generator whose ConfigMap is in another application
            if named or sorted(map(canonical, changed)) != sorted(map(canonical, built[app.name])):
                app.components.append(component)
                built[app.name] = changed
                placed.append(app.name)
        if not placed:
            raise RenderError(f"{EXAMPLE}/kustomization.yaml: component {component} changes no"
                              " application when applied to any of them",
                              hint="remove it from the example, or add it to an application's"
                                   " kustomize.components by hand")
        report(f"component {component} -> {', '.join(placed)}")


@dataclass(frozen=True)
class SplitCheck:
    """How the split compares with the example: objects lost, added, rendered twice."""

    objects: int
    lost: list[str]
    extra: list[str]
    twice: list[str]

    @property
    def ok(self) -> bool:
        return not (self.lost or self.extra or self.twice)

    def problems(self) -> list[str]:
        return ([f"lost (in example, in no application): {o}" for o in self.lost]
                + [f"differs or added (in an application, not in example): {o}" for o in self.extra]
                + [f"rendered twice: {o}" for o in self.twice])


def compare(example: list[Obj], split: list[Obj]) -> SplitCheck:
    want, got = Counter(map(canonical, example)), Counter(map(canonical, split))
    by_text = {canonical(o): describe(o) for o in [*example, *split]}
    ids = Counter(object_key(o) for o in split)
    twice = sorted({describe(o) for o in split if ids[object_key(o)] > 1})
    return SplitCheck(len(example), sorted(by_text[t] for t in want - got),
                      sorted(by_text[t] for t in got - want), twice)


def json_patch(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """JSON 6902 operations turning ``old`` into ``new`` (lists are replaced whole)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [] if old == new else [{"op": "replace", "path": path, "value": new}]
    at = {k: f"{path}/{k.replace('~', '~0').replace('/', '~1')}" for k in [*old, *new]}
    ops: list[dict[str, Any]] = [{"op": "remove", "path": at[k]} for k in old if k not in new]
    for key, value in new.items():
        ops += json_patch(old[key], value, at[key]) if key in old else [{"op": "add", "path": at[key], "value": value}]
    return ops


def reconcile(example: list[Obj], apps: list[ManifestApp], built: dict[str, list[Obj]], report: Report) -> None:
    """Where an application builds an object differently from the example (a value the example
    sets across folders, e.g. a var or a generated name from another folder), give the
    application a JSON 6902 patch that makes it the example's, and say so."""
    wanted = {object_key(o): o for o in example}
    for app in apps:
        for obj in built[app.name]:
            target = wanted.get(object_key(obj))
            if target is None or canonical(target) == canonical(obj):
                continue
            ops = json_patch(obj, target)
            group, kind, namespace, name = object_key(obj)
            selector = {"group": group, "kind": kind, "name": "^" + re.escape(name) + "$"}
            if namespace:
                selector["namespace"] = "^" + re.escape(namespace) + "$"
            where = f"application '{app.name}' (init --manifests)"
            built[app.name] = patch_objects(built[app.name], ops, PatchTarget.model_validate(selector), "", where)
            app.patches.append({"target": selector, "patch": ops})
            report(f"{app.name}: {describe(obj)} differs from the example build at "
                   f"{', '.join(op['path'] for op in ops)}; added a patch that renders the example's")


def check_split(root: Path, apps: list[ManifestApp], built: dict[str, list[Obj]], report: Report) -> SplitCheck:
    example = extract(kustomize.build(EXAMPLE, (root / EXAMPLE).resolve(), EXAMPLE))
    reconcile(example, apps, built, report)
    return compare(example, [o for objs in built.values() for o in objs])


@dataclass(frozen=True)
class Split:
    applications: list[ManifestApp]
    objects: int
    check: SplitCheck | None


def split_release(root: Path, report: Report, verify: bool = True) -> Split:
    """The release at ``root`` as applications: grouped, built, components placed, dependencies
    from the objects, and (``verify``) checked against the example's own build."""
    kfile = root / EXAMPLE / "kustomization.yaml"
    try:
        example = parse_example(kfile.read_text(encoding="utf-8"))
    except OSError as e:
        raise RenderError(f"{kfile}: cannot read it ({e.strerror or e}); is this a Kubeflow manifests"
                          " release?", hint="--manifests takes the release's top folder or archive") from e
    except LayoutError as e:
        raise RenderError(str(e)) from e
    apps = group(example.resources)
    unknown = [a.name for a in apps if a.about.startswith("from ")]
    if unknown:
        report(f"folders no rule knows became applications of their own: {', '.join(unknown)}")
    built: dict[str, list[Obj]] = {}
    for i, app in enumerate(apps, 1):
        report(f"building {app.name} ({i}/{len(apps)})")
        built[app.name] = build_app(root, app)
    place_components(root, example.components, apps, built, report)
    for app in apps:
        for problem in (p for o in built[app.name] for p in validate(o)):
            report(f"warning: application {app.name} renders an invalid object, which apply will"
                   f" refuse until a patch fixes it: {problem}")
    for app in apps:
        app.depends_on = dependencies(built)[app.name]
    try:
        stable_order({a.name: tuple(a.depends_on) for a in apps})
    except ValueError as cycle:
        raise RenderError(f"the applications' objects depend on each other in a cycle: {cycle}",
                          hint="report the release layout; group those folders into one application") from cycle
    total = sum(len(objs) for objs in built.values())
    if not verify:
        return Split(apps, total, None)
    report(f"checking the split against kustomize build {EXAMPLE} ...")
    return Split(apps, total, check_split(root, apps, built, report))
