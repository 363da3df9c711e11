"""An official manifests release split into applications, built and checked.

``kfdeploy init --manifests`` groups the folders of the release's ``example`` kustomization into
applications (templates.manifests); here each application is built with the same kustomize
runner that render uses, the example's kustomize Components are given to the applications whose
objects they change (tried, not guessed), and the split is checked against ``kustomize build
example``: every object once, none lost, none twice, each byte for byte the same.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import RenderError
from kfdeploy.graph import stable_order
from kfdeploy.objects import ObjectKey, describe, describe_key, object_key
from kfdeploy.render import kustomize
from kfdeploy.render.patches import patch_objects
from kfdeploy.render.process import extract, validate
from kfdeploy.render.remote import kustomization_file
from kfdeploy.spec.sources import PatchTarget
from kfdeploy.templates.manifests import (
    EXAMPLE,
    OPTION_NAMES,
    PLATFORM_CHOICES,
    Choice,
    Example,
    LayoutError,
    ManifestApp,
    Variant,
    apply_choice,
    available_options,
    dependencies,
    group,
    option,
    parse_example,
)

Obj = dict[str, Any]
Report = Callable[[str], None]


def build_app(root: Path, app: ManifestApp, components: Iterable[str] = (), version: str | None = None) -> list[Obj]:
    """One application's objects, built with kustomize ``version`` (None: kubectl's)."""
    comps = [(root / c).resolve() for c in [*app.components, *components]]
    return [o for p in app.paths
            for o in extract(kustomize.build(app.name, (root / p).resolve(), p, comps, version=version))]


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
                     built: dict[str, list[Obj]], report: Report, version: str | None = None) -> None:
    """Give each component to the applications holding the objects it names and building with
    it; when it names none, to those whose build it changes. The split check has the last word."""
    for component in components:
        named = _named(root, component, apps, built)
        placed = []
        for app in named or apps:
            try:
                changed = build_app(root, app, [component], version)
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


def build_example(root: Path, example: Example, version: str | None) -> list[Obj]:
    """``kustomize build example``, or, when platform or options changed its folders, the same
    build of a generated kustomization listing the folders chosen."""
    original = parse_example((root / EXAMPLE / "kustomization.yaml").read_text(encoding="utf-8"))
    if original == example:
        return extract(kustomize.build(EXAMPLE, (root / EXAMPLE).resolve(), EXAMPLE, version=version))
    with tempfile.TemporaryDirectory(prefix="kfdeploy-example-") as tmp:
        rel = [os.path.relpath(root.resolve() / f, tmp) for f in example.resources]
        comps = [os.path.relpath(root.resolve() / c, tmp) for c in example.components]
        (Path(tmp) / "kustomization.yaml").write_text(json.dumps({"resources": rel, "components": comps}))
        return extract(kustomize.build(EXAMPLE, Path(tmp), f"{EXAMPLE} (with the chosen overlays)", version=version))


def check_split(root: Path, apps: list[ManifestApp], built: dict[str, list[Obj]], report: Report,
                version: str | None = None, example_folders: Example | None = None) -> SplitCheck:
    example_folders = example_folders or parse_example((root / EXAMPLE / "kustomization.yaml").read_text())
    example = build_example(root, example_folders, version)
    reconcile(example, apps, built, report)
    return compare(example, [o for objs in built.values() for o in objs])


@dataclass(frozen=True)
class Split:
    applications: list[ManifestApp]
    objects: int
    check: SplitCheck | None
    chosen: tuple[Choice, ...] = ()   # the platform's and the options' changes that applied
    offered: tuple[Choice, ...] = ()  # options the release ships that were not asked for
    built: dict[str, list[Obj]] = field(default_factory=dict)  # per application, as the example renders it


def release_has(root: Path) -> Callable[[str], bool]:
    """Whether the release at ``root`` has a kustomization folder (repo-relative)."""
    return lambda folder: kustomization_file(root / folder) is not None


OVERLAY_FIELDS = frozenset({"apiVersion", "kind", "resources", "patches"})


def overlay_patches(root: Path, folder: str) -> list[dict[str, Any]] | None:
    """``[{target, patch}]`` of an overlay that only patches one base, as spec patches; None
    for any other kustomization."""
    kfile = kustomization_file(root / folder)
    try:
        data = yaml.safe_load(kfile.read_text(encoding="utf-8")) if kfile else None
        if not isinstance(data, dict) or set(data) - OVERLAY_FIELDS or len(data.get("resources") or []) != 1:
            return None
        out = []
        for entry in data.get("patches") or []:
            body = entry.get("patch") if "patch" in entry else (root / folder / entry["path"]).read_text()
            out.append({"target": entry["target"], "patch": yaml.safe_load(body)})
        return out
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError):
        return None


def unbuildable_overlays(root: Path, choice: Choice, resources: list[str], version: str | None,
                         report: Report) -> tuple[list[str], list[Choice]]:
    """A platform overlay that does not build (v1.10.2's GKE overlay names a missing base) is
    swapped back; when it only patches its base, its patches go to the application instead."""
    out, carried = list(resources), []
    for v in (v for v in choice.variants if v.to in out):
        try:
            kustomize.build(choice.name, (root / v.to).resolve(), v.to, version=version)
            continue
        except RenderError as e:
            failure = e.message
        out[out.index(v.to)] = v.replaces
        patches = overlay_patches(root, v.to)
        if not patches:
            report(f"warning: {choice.name}: the release's {v.to} does not build, keeping {v.replaces}: {failure}")
            continue
        report(f"{choice.name}: the release's {v.to} does not build; keeping {v.replaces} with its patches")
        carried.append(Choice(choice.name, choice.about, (Variant(v.replaces, v.replaces),),
                              note=f"{choice.note}. The release's {v.to} does not build ({failure.split(': ')[-1]});"
                                   " its patches are here instead", patches=tuple(patches)))
    return out, carried


def choose_folders(root: Path, example: Example, platform: str, options: Iterable[str],
                   report: Report, version: str | None = None) -> tuple[Example, list[Choice]]:
    """The example's folders with the platform's overlays (where the release has them and they
    build) and the ``options`` asked for (an error when the release ships none of an option's
    folders)."""
    exists = release_has(root)
    resources, chosen = list(example.resources), []
    platform_choice = PLATFORM_CHOICES.get(platform)
    for choice in ([platform_choice] if platform_choice else []) + [option(n) for n in options]:
        applied = apply_choice(resources, choice, exists)
        if choice is not platform_choice and not applied.done:
            offered = [o.name for o in available_options(resources, exists)]
            raise RenderError(f"--with {choice.name}: this release has none of its folders"
                              f" ({', '.join(applied.missing) or 'nothing to change in the example'})",
                              hint=f"options this release ships: {', '.join(offered) or 'none'}"
                                   f" (kfdeploy knows {', '.join(OPTION_NAMES)})")
        for what in applied.done:
            report(f"{choice.name}: {what}")
        if choice is platform_choice and applied.missing:
            report(f"{platform}: this release has no {', '.join(applied.missing)}; keeping the example's folders")
        resources = applied.resources
        chosen += [choice] if applied.done else []
        if choice is platform_choice and applied.done:
            resources, carried = unbuildable_overlays(root, choice, resources, version, report)
            chosen += carried
    return Example(resources, example.components), chosen


def check_overlap(built: dict[str, list[Obj]], chosen: list[Choice]) -> None:
    """Refuse folders that render one object twice (e.g. an overlay that also creates a namespace
    another folder creates): kustomize build of those folders refuses them the same way."""
    owners: dict[ObjectKey, list[str]] = {}
    for app, objs in built.items():
        for o in objs:
            owners.setdefault(object_key(o), []).append(app)
    twice = [(describe_key(key), apps) for key, apps in owners.items() if len(apps) > 1]
    if twice:
        what, apps = twice[0]
        picked = f" (chosen: {', '.join(c.name for c in chosen)})" if chosen else ""
        raise RenderError(f"{what} is rendered by {' and '.join(dict.fromkeys(apps))}: the release's folders"
                          f" overlap{picked}; `kustomize build` of the same folders fails the same way",
                          hint="leave out the option or platform overlay that adds it, or report the release layout")


def split_release(root: Path, report: Report, verify: bool = True, version: str | None = None,
                  platform: str = "", options: Iterable[str] = ()) -> Split:
    """The release at ``root`` as applications: the example's folders with the ``platform``'s
    overlays and the ``options``, grouped, built with kustomize ``version`` (None: kubectl's),
    components placed, dependencies from the objects, and (``verify``) checked against the
    example's own build of the same folders."""
    kfile = root / EXAMPLE / "kustomization.yaml"
    try:
        example = parse_example(kfile.read_text(encoding="utf-8"))
    except OSError as e:
        raise RenderError(f"{kfile}: cannot read it ({e.strerror or e}); is this a Kubeflow manifests"
                          " release?", hint="--manifests takes the release's top folder or archive") from e
    except LayoutError as e:
        raise RenderError(str(e)) from e
    example, chosen = choose_folders(root, example, platform, options, report, version)
    apps = group(example.resources)
    unknown = [a.name for a in apps if a.about.startswith("from ")]
    if unknown:
        report(f"folders no rule knows became applications of their own: {', '.join(unknown)}")
    built: dict[str, list[Obj]] = {}
    for i, app in enumerate(apps, 1):
        report(f"building {app.name} ({i}/{len(apps)})")
        built[app.name] = build_app(root, app, (), version)
    place_components(root, example.components, apps, built, report, version)
    for app in apps:
        for problem in (p for o in built[app.name] for p in validate(o)):
            report(f"warning: application {app.name} renders an invalid object, which apply will"
                   f" refuse until a patch fixes it: {problem}")
    check_overlap(built, chosen)
    for app in apps:
        app.depends_on = dependencies(built)[app.name]
    try:
        stable_order({a.name: tuple(a.depends_on) for a in apps})
    except ValueError as cycle:
        raise RenderError(f"the applications' objects depend on each other in a cycle: {cycle}",
                          hint="report the release layout; group those folders into one application") from cycle
    total = sum(len(objs) for objs in built.values())
    offered = tuple(available_options(example.resources, release_has(root)))
    if not verify:
        return Split(apps, total, None, tuple(chosen), offered, built)
    report(f"checking the split against kustomize build {EXAMPLE} ...")
    check = check_split(root, apps, built, report, version, example)
    return Split(apps, total, check, tuple(chosen), offered, built)
