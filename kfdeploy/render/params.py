"""Which applications are applied, and the params each one is rendered with.

Pure functions over the spec and the library. Params are resolved in layers, lowest first:
component default < platform overlays < ``spec.overlays`` in order < ``spec.params["*"]``
< ``spec.params[<app>]`` < the application's own ``overlays`` then ``params``. A value replaces
the one below it (objects are not deep-merged), so every layer is easy to predict. Each problem
names the component, the param, the layer the value came from and the valid choices.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kfdeploy.credentials import SECRET_PLACEHOLDER
from kfdeploy.errors import RenderError, SpecError
from kfdeploy.graph import find_cycle
from kfdeploy.library import Component, Library, choices_text, load_component, matches_type, suggest, type_of

if TYPE_CHECKING:
    from kfdeploy.spec import Application, KfDef

SourceKind = Literal["library", "jsonnet", "helm", "kustomize"]
SECRET_REF = "secretRef"


@dataclass(frozen=True)
class Layer:
    """One source of param values; ``wildcard`` layers only set params a component declares."""

    source: str
    values: Mapping[str, Any]
    wildcard: bool = False


@dataclass(frozen=True)
class AppRef:
    """An applied application: from spec.applications (``index``) or a platform addon."""

    name: str
    index: int | None
    app: Application | None = None

    @property
    def where(self) -> str:
        return f"spec.applications[{self.index}]" if self.index is not None else "platform addon"

    @property
    def source_kind(self) -> SourceKind:
        return self.app.source_kind if self.app is not None else "library"


@dataclass(frozen=True)
class AppPlan:
    """What to render for one application; ``params`` still hold ``{secretRef: NAME}`` markers."""

    ref: AppRef
    component: Component | None
    params: dict[str, Any]
    depends_on: tuple[str, ...]
    namespace: str
    layers: tuple[Layer, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        return self.ref.name

    def params_hash(self) -> str:
        """Digest of the params as written (secret values are not part of it)."""
        text = json.dumps(self.params, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def applied_refs(spec: KfDef, library: Library) -> list[AppRef]:
    """Enabled spec.applications, then the platform's addons not already listed.

    An empty ``spec.applications`` means every component enabled by default.
    """
    apps = list(spec.spec.applications)
    refs = [AppRef(a.name, i, a) for i, a in enumerate(apps) if a.enabled]
    if not apps:
        refs = [AppRef(c.name, None) for c in library.components.values() if c.enabled_by_default]
    listed = {a.name for a in apps} | {r.name for r in refs}
    addons = library.platform(spec.spec.platform.kind).addons
    return refs + [AppRef(a, None) for a in addons if a not in listed]


def component_for(ref: AppRef, spec: KfDef, library: Library) -> Component | None:
    """The component behind an application (None for helm charts and kustomize folders)."""
    if ref.source_kind in ("helm", "kustomize"):
        return None
    if ref.source_kind == "jsonnet":
        assert ref.app is not None and ref.app.jsonnet is not None
        path = Path(ref.app.jsonnet.path)
        path = path if path.is_absolute() else Path(spec.base_dir) / path
        try:
            return load_component(path, ref.name, required=False)
        except RenderError as e:
            raise RenderError(f"{ref.where}.jsonnet.path: {e.message}", hint=e.hint) from e
    return library.component(ref.name, where=f"{ref.where}.name")


def overlay_layers(names: list[str], where: str, ref: AppRef, library: Library) -> tuple[list[Layer], list[str]]:
    """Layers contributed by named overlays ("*" below the component's own entry)."""
    layers: list[Layer] = []
    problems: list[str] = []
    for i, name in enumerate(names):
        ov = library.overlays.get(name)
        if ov is None:
            problems.append(f"{where}[{i}]: unknown overlay '{name}'{suggest(name, library.overlays)};"
                            f" overlays: {choices_text(library.overlays)}")
            continue
        source = f"overlay '{name}' ({where}[{i}])"
        layers.append(Layer(source, ov.params.get("*", {}), wildcard=True))
        layers.append(Layer(source, ov.params.get(ref.name, {})))
    return layers, problems


def layers_for(ref: AppRef, spec: KfDef, library: Library) -> tuple[list[Layer], list[str]]:
    """Every layer above the component defaults, lowest first, plus unknown-overlay problems."""
    s = spec.spec
    kind = s.platform.kind
    platform_overlays = list(library.platform(kind).overlays)
    layers, problems = overlay_layers(platform_overlays, f"platforms/{kind}.yaml overlays", ref, library)
    more, more_problems = overlay_layers(list(s.overlays), "spec.overlays", ref, library)
    layers += more
    problems += more_problems
    layers.append(Layer('spec.params["*"]', s.params.get("*", {}), wildcard=True))
    layers.append(Layer(f"spec.params.{ref.name}", s.params.get(ref.name, {})))
    if ref.app is not None:
        own, own_problems = overlay_layers(list(ref.app.overlays), f"{ref.where}.overlays", ref, library)
        layers += own
        problems += own_problems
        layers.append(Layer(f"{ref.where}.params", ref.app.params))
    return layers, problems


def shown(value: Any) -> str:
    """A value for an error message, short."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def merge_layers(comp: Component, layers: list[Layer]) -> tuple[dict[str, Any], list[str]]:
    """Apply layers over the component defaults, checking names and types."""
    params = comp.defaults()
    problems: list[str] = []
    for layer in layers:
        for pname, value in layer.values.items():
            decl = comp.params.get(pname)
            if decl is None and not comp.typed:
                params[pname] = value
            elif decl is None:
                if not layer.wildcard:
                    problems.append(f"{layer.source}: component '{comp.name}' has no param '{pname}'"
                                    f"{suggest(pname, comp.params)}; params: {choices_text(comp.params)}")
            elif not matches_type(decl.type, value) and not is_secret_ref(value, decl.type):
                problems.append(f"{layer.source}: param '{pname}' of component '{comp.name}' is"
                                f" {decl.type}, got {type_of(value)} {shown(value)}")
            else:
                params[pname] = value
    return params, problems


def is_secret_ref(value: Any, type_name: str = "string") -> bool:
    return (isinstance(value, dict) and set(value) == {SECRET_REF} and type_name == "string"
            and isinstance(value[SECRET_REF], str))


def secret_ref_problems(value: Any, where: str, secret_names: set[str]) -> list[str]:
    """``{secretRef: NAME}`` markers anywhere in ``value`` that name no spec.secrets entry."""
    if isinstance(value, dict):
        if set(value) == {SECRET_REF}:
            name = value[SECRET_REF]
            if name in secret_names:
                return []
            return [f"{where}: secretRef '{name}' is not in spec.secrets{suggest(str(name), secret_names)};"
                    f" secrets: {choices_text(secret_names)}"]
        return [p for k, v in value.items() for p in secret_ref_problems(v, f"{where}.{k}", secret_names)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in secret_ref_problems(v, f"{where}[{i}]", secret_names)]
    return []


def plan_application(ref: AppRef, spec: KfDef, library: Library) -> tuple[AppPlan | None, list[str]]:
    """Resolve one application's component, params, dependencies and namespace."""
    try:
        comp = component_for(ref, spec, library)
    except RenderError as e:
        return None, [e.message]
    default_ns = spec.metadata.namespace
    if comp is None:
        return plan_external(ref, default_ns, {s.name for s in spec.spec.secrets})
    layers, problems = layers_for(ref, spec, library)
    params, merge_problems = merge_layers(comp, layers)
    if not comp.typed:
        params.setdefault("namespace", default_ns)
    secret_names = {s.name for s in spec.spec.secrets}
    problems += merge_problems + secret_ref_problems(params, f"application '{ref.name}' params", secret_names)
    deps = tuple(ref.app.depends_on) if ref.app is not None and ref.app.depends_on is not None \
        else comp.depends_on
    ns = params.get("namespace")
    namespace = ns if isinstance(ns, str) and ns else default_ns
    return AppPlan(ref, comp, params, deps, namespace, tuple(layers)), problems


def plan_external(ref: AppRef, default_ns: str, secret_names: set[str]) -> tuple[AppPlan, list[str]]:
    """A helm or kustomize application: no component; params are its postRender's."""
    app = ref.app
    assert app is not None
    kind = app.source_kind
    problems = [f"{ref.where}.overlays: overlays set component params; a {kind} application has none"
                ] if app.overlays else []
    if app.params and not app.post_render:
        where = "helm.values" if kind == "helm" else "patches, images, replicas or postRender"
        problems.append(f"{ref.where}.params: a {kind} application has no component params; use {where}"
                        " (params are passed to postRender when it is set)")
    problems += secret_ref_problems(app.params, f"{ref.where}.params", secret_names)
    namespace = (app.helm.namespace if app.helm else None) or default_ns
    return AppPlan(ref, None, dict(app.params), tuple(app.depends_on or ()), namespace), problems


def spec_params_problems(spec: KfDef, refs: list[AppRef]) -> list[str]:
    """spec.params keys must be "*" or an application name."""
    names = {r.name for r in refs} | {a.name for a in spec.spec.applications}
    return [f"spec.params.{key}: no application named '{key}'{suggest(key, names)};"
            f" use \"*\" or one of: {choices_text(names)}"
            for key in spec.spec.params if key != "*" and key not in names]


def plan_applications(spec: KfDef, library: Library) -> tuple[list[AppPlan], list[str]]:
    """Plans for every applied application, and all problems found (not only the first)."""
    refs = applied_refs(spec, library)
    problems = spec_params_problems(spec, refs)
    plans: list[AppPlan] = []
    for ref in refs:
        plan, app_problems = plan_application(ref, spec, library)
        problems += app_problems
        if plan is not None:
            plans.append(plan)
    problems += dependency_problems(spec, plans)
    return plans, list(dict.fromkeys(problems))  # a bad spec overlay shows up once, not per app


def dependency_problems(spec: KfDef, plans: list[AppPlan]) -> list[str]:
    """dependsOn names that are not applied (unknown or disabled) and cycles, including the
    dependencies components declare by default; each named at the field that sets it."""
    applied = {p.name for p in plans}
    disabled = {a.name for a in spec.spec.applications if not a.enabled}
    problems = []
    for plan in plans:
        own = plan.ref.app is not None and plan.ref.app.depends_on is not None
        for j, dep in enumerate(plan.depends_on):
            where = f"{plan.ref.where}.dependsOn[{j}]" if own else \
                f"{plan.ref.where} (component '{plan.name}' depends on it by default)"
            if dep in disabled:
                problems.append(f"{where}: '{plan.name}' depends on '{dep}', which is disabled (enabled: false);"
                                f" enable '{dep}' or set this application's dependsOn without it")
            elif dep not in applied:
                problems.append(f"{where}: '{plan.name}' depends on '{dep}', which is not applied"
                                f"{suggest(dep, applied)}; applied: {choices_text(applied)}")
    cycle = find_cycle({p.name: [d for d in p.depends_on if d in applied] for p in plans})
    if cycle:
        problems.append(f"spec.applications: dependsOn forms a cycle {' -> '.join(cycle)} (components'"
                        " default dependsOn included); set one application's dependsOn to break it")
    return problems


def check_applications(spec: KfDef, library: Library | None = None) -> list[str]:
    """Every problem in the spec's applications, overlays and params (used by ``validate``)."""
    return plan_applications(spec, library or Library.load())[1]


def resolve_secrets(value: Any, spec: KfDef, env: Mapping[str, str] | None = None) -> Any:
    """Replace ``{secretRef: NAME}`` markers with the secret's value (never log the result)."""
    if isinstance(value, dict):
        if set(value) == {SECRET_REF}:
            return secret_value(value[SECRET_REF], spec, env)
        return {k: resolve_secrets(v, spec, env) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, spec, env) for v in value]
    return value


def mask_secrets(value: Any) -> Any:
    """Replace ``{secretRef: NAME}`` markers with a placeholder naming the secret."""
    if isinstance(value, dict):
        if set(value) == {SECRET_REF}:
            return SECRET_PLACEHOLDER.format(value[SECRET_REF])
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def secret_value(name: str, spec: KfDef, env: Mapping[str, str] | None) -> str:
    for secret in spec.spec.secrets:
        if secret.name == name:
            return str(secret.resolve(env if env is not None else os.environ))
    names = {s.name for s in spec.spec.secrets}
    raise SpecError(spec.source, [f"secretRef '{name}' is not in spec.secrets{suggest(name, names)};"
                                  f" secrets: {choices_text(names)}"])
