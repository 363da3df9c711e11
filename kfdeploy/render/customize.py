"""Customizations of a helm or kustomize application, applied to what the source rendered.

They run after the source renders and before the process chain (namespace, labels, sort), in
this order: ``patches`` (each in turn), ``images``, ``replicas``, then ``postRender`` — a
jsonnet ``function(objects, params)`` that sees the result of the others and returns the
objects. So the process chain, the plan and apply see exactly what the user asked for, and a
postRender function can rely on the declarative overrides having been made.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kfdeploy.errors import RenderError
from kfdeploy.kinds import rule_of
from kfdeploy.render import images, jsonnet, process
from kfdeploy.render.manifests import Loader
from kfdeploy.render.patches import patch_objects

if TYPE_CHECKING:
    from kfdeploy.spec import Application, KfDef, Patch, ReplicaOverride

Obj = dict[str, Any]


def customize(objects: list[Obj], app: Application, where: str, spec: KfDef, namespace: str,
              jpath: list[Path], params: Mapping[str, Any]) -> list[Obj]:
    """Every customization of ``app`` applied to its rendered ``objects``."""
    for i, patch in enumerate(app.patches):
        body = patch_body(patch, spec, f"{where}.patches[{i}]")
        objects = patch_objects(objects, body, patch.target, namespace,
                                f"application '{app.name}' {where}.patches[{i}]")
    objects = with_images(objects, app, where)
    objects = with_replicas(objects, app.replicas, app.name, where)
    if app.post_render:
        objects = post_render(objects, spec.resolve_path(app.post_render), dict(params), jpath, app.name)
    return objects


def patch_body(patch: Patch, spec: KfDef, where: str) -> Any:
    """The patch as data: inline (YAML text or structure) or read from its file."""
    text = patch.patch
    if patch.path is not None:
        path = spec.resolve_path(patch.path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RenderError(f"{where}.path: cannot read {path}: {e}",
                              hint="patch paths are relative to the spec file") from e
    if not isinstance(text, str):
        return text
    try:
        return yaml.load(text, Loader=Loader)
    except yaml.YAMLError as e:
        raise RenderError(f"{where}: the patch is not valid YAML: {e}") from e


def container_images(objects: list[Obj]) -> set[str]:
    """Names (without tag or digest) of the images containers use."""
    return {images.parse(u.image).name for o in objects for u in images.find(o) if not u.in_config}


def with_images(objects: list[Obj], app: Application, where: str) -> list[Obj]:
    """kustomize ``images`` semantics: containers only, the first matching entry per image."""
    if not app.images:
        return objects
    present = container_images(objects)
    missing = [(i, o.name) for i, o in enumerate(app.images) if o.name not in present]
    if missing:
        i, name = missing[0]
        raise RenderError(f"application '{app.name}' {where}.images[{i}]: no container uses image"
                          f" {name!r}; images: {', '.join(sorted(present)) or 'none'}",
                          hint="images[].name is the image name without tag or digest")
    overrides = [images.ImageOverride(o.name, o.new_name or "", o.new_tag or "", o.digest or "")
                 for o in app.images]
    return [images.rewrite(o, lambda image: images.override(image, overrides), config=False)
            for o in objects]


def with_replicas(objects: list[Obj], replicas: list[ReplicaOverride], app: str, where: str) -> list[Obj]:
    counts = {r.name: r.count for r in replicas}
    hit: set[str] = set()
    out = []
    for obj in objects:
        name = (obj.get("metadata") or {}).get("name")
        if rule_of(obj).scalable and name in counts:
            hit.add(name)
            obj = {**obj, "spec": {**(obj.get("spec") or {}), "replicas": counts[name]}}
        out.append(obj)
    for i, r in enumerate(replicas):
        if r.name not in hit:
            workloads = sorted(str((o.get("metadata") or {}).get("name")) for o in objects if rule_of(o).scalable)
            raise RenderError(f"application '{app}' {where}.replicas[{i}]: no workload with replicas"
                              f" (Deployment, StatefulSet, ReplicaSet) named {r.name!r};"
                              f" workloads: {', '.join(workloads) or 'none'}")
    return out


def post_render(objects: list[Obj], file: Path, params: dict[str, Any], jpath: list[Path], app: str) -> list[Obj]:
    """Run the application's postRender function over its objects."""
    if not file.is_file():
        raise RenderError(f"application '{app}': postRender file {file} does not exist",
                          hint="postRender is a jsonnet file relative to the spec")
    try:
        value = jsonnet.call(file, {"objects": objects, "params": params}, jpath)
    except RenderError as e:
        raise RenderError(f"application '{app}' postRender: {e.message}",
                          hint="postRender is function(objects, params) returning the objects") from e
    try:
        return process.extract(value)
    except RenderError as e:
        raise RenderError(f"application '{app}' postRender returned {e.message}") from e
