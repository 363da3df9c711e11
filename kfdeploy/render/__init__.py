"""Render a KfDef into plain Kubernetes objects, one list per application, in dependency order.

The stages, in the order data flows: ``params`` (which applications, with which params) ->
``jsonnet`` / ``helm`` / ``kustomize`` (evaluate, then the customizations of helm and kustomize
sources; served from the render ``cache`` when its ``key`` matches) -> ``published`` (the
official releases' published credentials replaced by generated ones; a chart's ``volatile``
values kept) -> ``process`` (extract,
validate, namespace, label, sort) -> ``adjust`` (the platform's declared adjustments, reported)
-> ``images`` (every image moved to ``spec.imageRegistry`` when one is set).
Rendering is deterministic: the same spec and library give the same objects in the same order.

A ``Session`` renders each application's source once per run: ``prepare`` renders every
application that reads no credential kept in the cluster (so their errors surface before a
cluster is reached), ``render`` the rest with the credentials read from the cluster;
``render_again`` gives the same applications with other credentials (a GitOps-managed cluster's
plan compares with the export's placeholders), rendering again only the sources that read them.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfdeploy.credentials import Credentials
from kfdeploy.errors import RenderError
from kfdeploy.graph import stable_order
from kfdeploy.kinds import NAMESPACE, group_kind
from kfdeploy.library import Library, choices_text, suggest
from kfdeploy.render import adjust, helm, images, jsonnet, kustomize, kustomize_pin, process, published, volatile
from kfdeploy.render.cache import RenderCache
from kfdeploy.render.customize import customize
from kfdeploy.render.key import Inputs, needs_cluster_credentials, reads_secrets
from kfdeploy.render.params import AppPlan, check_applications, mask_secrets, plan_applications, resolve_secrets
from kfdeploy.render.repos import RepoResolver

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef, KustomizeSource

RENDER_WORKERS = max(2, os.cpu_count() or 2)
__all__ = ["Rendered", "RenderedApp", "Session", "render", "check_applications", "dependency_order"]
Report = Callable[[str, str], None]
"""(application, how its source was had: "cached" or the seconds it took) -> None."""
SOURCE_RENDERS: Counter[str] = Counter()
"""Application -> sources really rendered in this process (not served from the cache)."""
_COUNT_LOCK = threading.Lock()


@dataclass(frozen=True)
class RenderedApp:
    name: str
    objects: list[dict[str, Any]]
    depends_on: list[str]
    namespace: str
    params_hash: str
    adjustments: list[adjust.Adjustment] = field(default_factory=list)
    tool: str = ""  # kustomize applications: which kustomize rendered them, and why


@dataclass(frozen=True)
class Rendered:
    applications: list[RenderedApp] = field(default_factory=list)
    cached: frozenset[str] = frozenset()  # applications whose source came from the render cache
    replaced: list[published.Replaced] = field(default_factory=list)  # published credentials replaced

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [o for app in self.applications for o in app.objects]

    def names(self) -> list[str]:
        return [a.name for a in self.applications]

    @property
    def adjustments(self) -> list[adjust.Adjustment]:
        return [n for app in self.applications for n in app.adjustments]


def dependency_order(deps: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Topological order over ``deps`` (name -> names it depends on); among ready applications
    the one listed first wins, so the order is stable. Unknown deps and cycles are errors."""
    unknown = [f"application '{n}' depends on '{d}', which is not applied{suggest(d, deps)};"
               f" applied: {choices_text(deps)}" for n, ds in deps.items() for d in ds if d not in deps]
    if unknown:
        raise RenderError("\n".join(unknown), hint="enable that application, or set this"
                          " application's dependsOn in the spec")
    try:
        return stable_order(deps)
    except ValueError as cycle:
        raise RenderError(f"dependency cycle: {cycle}",
                          hint="remove one edge with the application's dependsOn in the spec") from cycle


def select(order: list[str], only: Iterable[str]) -> list[str]:
    only = list(only)
    unknown = [n for n in only if n not in order]
    if unknown:
        raise RenderError(f"unknown application '{unknown[0]}'{suggest(unknown[0], order)};"
                          f" applications: {', '.join(order)}")
    return [n for n in order if not only or n in only]


def spec_values(value: Any, spec: KfDef, env: Mapping[str, str] | None, credentials: Credentials) -> Any:
    """``value`` with its ``{secretRef}`` markers resolved (placeholders when masked)."""
    return mask_secrets(value) if credentials.masked else resolve_secrets(value, spec, env)


def evaluate(plan: AppPlan, spec: KfDef, library: Library, env: Mapping[str, str] | None,
             repos: RepoResolver, credentials: Credentials) -> Any:
    """The raw evaluated value of one application (jsonnet value, helm or kustomize documents)."""
    ref = plan.ref
    if ref.app is not None and ref.app.kustomize is not None:
        return kustomize_documents(ref.name, ref.app.kustomize, spec, repos)
    if plan.component is None:
        assert ref.app is not None and ref.app.helm is not None
        values = spec_values(dict(ref.app.helm.values), spec, env, credentials)
        kube_version = library.platform(spec.spec.platform.kind).kubernetes_version
        return helm.template(ref.name, ref.app.helm, plan.namespace, spec.base_dir, values, kube_version, repos)
    params = credentials.fill(ref.name, plan.component.credentials, spec_values(plan.params, spec, env, credentials))
    try:
        return jsonnet.evaluate(plan.component.main, params, library.jpath, trusted=ref.source_kind == "library")
    except RenderError as e:
        raise RenderError(f"application '{ref.name}' (component {plan.component.path.name}):"
                          f" {e.message}", hint=e.hint) from e


def kustomize_source(source: KustomizeSource, spec: KfDef,
                     repos: RepoResolver) -> tuple[Path, str, kustomize_pin.KustomizeChoice]:
    """The folder a kustomize application's paths start from, its label in messages, and the
    kustomize that renders it."""
    if source.repo is None:
        return spec.base_dir, "", kustomize_pin.DEFAULT
    repo = next(r for r in spec.spec.repos if r.name == source.repo)  # the spec checked it exists
    root = repos.root(repo)
    return root, f"{source.repo}:", kustomize_pin.choose(repo, root)


def kustomize_documents(name: str, source: KustomizeSource, spec: KfDef, repos: RepoResolver) -> list[Any]:
    """Each kustomize path built on its own, in the order listed."""
    root, label, tool = kustomize_source(source, spec, repos)
    components = [(root / c).resolve() for c in source.components]
    confined = root if source.repo is not None else None  # a repo's references stay inside it
    return [d for p in source.paths
            for d in kustomize.build(name, (root / p).resolve(), label + p, components, repos, confined,
                                     version=tool.version)]


def source_objects(plan: AppPlan, spec: KfDef, library: Library, env: Mapping[str, str] | None,
                   repos: RepoResolver, credentials: Credentials | None = None) -> list[dict[str, Any]]:
    """One application's objects as its source rendered them, customizations applied."""
    credentials = credentials or Credentials.offline()
    objects = extract(plan.name, evaluate(plan, spec, library, env, repos, credentials))
    app = plan.ref.app
    if app is None or plan.component is not None:
        return objects
    params = spec_values(plan.params, spec, env, credentials)
    return customize(objects, app, plan.ref.where, spec, plan.namespace, library.jpath, params)


def extract(name: str, value: Any) -> list[dict[str, Any]]:
    try:
        return process.extract(value)
    except RenderError as e:
        raise RenderError(f"application '{name}': {e.message}") from e


def to_registry(objects: list[dict[str, Any]], registry: str | None) -> list[dict[str, Any]]:
    """Every image of the objects, in containers and configuration alike, pulled from ``registry``."""
    if not registry:
        return objects
    return [images.rewrite(o, lambda image: images.mirror(image, registry)) for o in objects]


def render(spec: KfDef, library: Library | None = None, only: Iterable[str] = (),
           env: Mapping[str, str] | None = None, mirror: bool = True,
           credentials: Credentials | None = None, cache: RenderCache | None = None) -> Rendered:
    """Render the applied applications (or ``only`` these) in dependency order; images move to
    ``spec.imageRegistry`` unless ``mirror`` is False (the sources, for ``kfdeploy images``).
    Declared credentials come from ``credentials`` (read from the cluster by plan and apply);
    without it they are placeholders. Sources come from ``cache`` when it holds them."""
    credentials = credentials or Credentials.offline()
    session = Session(spec, library or Library.load(), only=only, env=env, mirror=mirror,
                      masked=credentials.masked, cache=cache)
    return session.render(credentials)


class Session:
    """One run's render: the applications planned once, each source rendered once (or read
    from the cache), then processed together."""

    def __init__(self, spec: KfDef, library: Library, *, only: Iterable[str] = (),
                 env: Mapping[str, str] | None = None, mirror: bool = True, masked: bool = False,
                 cache: RenderCache | None = None, report: Report | None = None) -> None:
        self.spec, self.library, self.env, self.mirror, self.masked = spec, library, env, mirror, masked
        self.cache = cache or RenderCache()
        self.report = report or (lambda name, how: None)
        plans, problems = plan_applications(spec, library)
        if problems:
            raise RenderError(f"{spec.source}: {len(problems)} problem(s) with applications:\n  - "
                              + "\n  - ".join(problems))
        self.plans = {p.name: p for p in plans}
        self.order = select(dependency_order({p.name: p.depends_on for p in plans}), only)
        self.repos = RepoResolver.for_spec(spec)
        self.inputs = Inputs(spec, library, self.repos)
        self.sources: dict[str, list[dict[str, Any]]] = {}
        self.cached: set[str] = set()
        self.texts: dict[str, published.Texts] = {}
        self.volatile: dict[str, volatile.Volatile] = {}  # helm applications' values made anew per render

    def prepare(self) -> None:
        """Render every application that reads no credential kept in the cluster (all but the
        components that declare credentials): their errors surface before a cluster is reached."""
        names = [n for n in self.order if not needs_cluster_credentials(self.plans[n])]
        self.sources.update(self._render_sources(names, Credentials.offline(self.masked)))

    def render(self, credentials: Credentials | None = None) -> Rendered:
        """The whole render: the sources ``prepare`` left, with ``credentials``, then the process
        chain, the platform's adjustments and the image registry over all of them."""
        credentials = credentials or Credentials.offline(self.masked)
        if credentials.masked != self.masked:
            raise ValueError("a session renders with masked spec.secrets or without, not both")
        self.sources.update(self._render_sources([n for n in self.order if n not in self.sources], credentials))
        return self._finish(self.sources, credentials)

    def render_again(self, credentials: Credentials) -> Rendered:
        """After ``render``: the same applications with other ``credentials`` (masked or not),
        as ``render(spec, credentials=...)`` gives them. Only the sources that read a credential
        or a ``spec.secrets`` value are rendered again; the others are the same whatever the
        credentials, and this session's are used."""
        if any(n not in self.sources for n in self.order):
            raise ValueError("render_again follows render")
        again = self._render_sources([n for n in self.order if reads_secrets(self.plans[n])], credentials)
        return self._finish({**self.sources, **again}, credentials)

    def _render_sources(self, names: list[str], credentials: Credentials) -> dict[str, list[dict[str, Any]]]:
        with ThreadPoolExecutor(max_workers=RENDER_WORKERS) as pool:  # helm and kustomize are processes
            done = pool.map(lambda name: self._source(name, credentials), names)
            return dict(zip(names, done, strict=True))  # in order: the first failing one is named

    def _source(self, name: str, credentials: Credentials) -> list[dict[str, Any]]:
        plan = self.plans[name]
        key = self.inputs.key(plan) if self.cache.enabled else None
        cached = self.cache.get(key) if key is not None else None
        if cached is not None:
            self.cached.add(name)
            self.report(name, "cached")
            return cached
        start = time.monotonic()
        objects = source_objects(plan, self.spec, self.library, self.env, self.repos, credentials)
        if plan.component is None and plan.ref.app is not None and plan.ref.app.helm is not None:
            # a second render shows what the chart generates anew each time (render.volatile)
            found = volatile.find(objects, source_objects(plan, self.spec, self.library, self.env, self.repos,
                                                          credentials))
            if found:
                volatile.warn(name, found)
                self.volatile[name] = found
                key = None  # the values are secret: never cached
        with _COUNT_LOCK:
            SOURCE_RENDERS[name] += 1
        if key is not None:
            self.cache.put(key, objects)
        self.report(name, f"{time.monotonic() - start:.1f}s")
        return objects

    def _finish(self, sources: Mapping[str, list[dict[str, Any]]], credentials: Credentials) -> Rendered:
        raw, replaced = published.replace({name: sources[name] for name in self.order}, self._texts, credentials)
        for name, found in self.volatile.items():
            if name in raw:
                raw[name] = volatile.keep(name, self.plans[name].namespace, raw[name], found, credentials)
        by_name = self.plans
        namespaces = {o["metadata"]["name"] for objs in raw.values() for o in objs if group_kind(o) == NAMESPACE}
        for name in self.order:  # a chart's release namespace is made like `helm install --create-namespace`
            app = by_name[name].ref.app
            if app is not None and app.helm is not None:
                raw[name] = helm.own_namespace(raw[name], by_name[name].namespace, namespaces)
        cluster_kinds = process.cluster_scoped_kinds(o for objs in raw.values() for o in objs)
        platform = self.library.platform(self.spec.spec.platform.kind)
        adjust.check(platform.adjust, platform.path or platform.kind)
        apps = []
        for name in self.order:
            plan = by_name[name]
            # Pods reading generated credentials roll when one changes (a checksum annotation).
            generated = needs_cluster_credentials(plan) or any(r.application == name for r in replaced)
            key = credentials.checksum_key() if generated else b""
            ctx = process.Context(name, plan.namespace, cluster_kinds, key)
            objects, notes = adjust.adjust(process.process(raw[name], ctx), platform.adjust, platform.kind, name)
            objects = to_registry(objects, self.spec.spec.image_registry if self.mirror else None)
            source = plan.ref.app.kustomize if plan.ref.app is not None else None
            tool = kustomize_source(source, self.spec, self.repos)[2].describe() if source is not None else ""
            apps.append(RenderedApp(name, objects, list(plan.depends_on), plan.namespace,
                                    plan.params_hash(), notes, tool))
        process.check_duplicates({a.name: a.objects for a in apps})
        return Rendered(apps, frozenset(self.cached), replaced)

    def _texts(self, name: str) -> published.Texts:
        """The files a kustomize application's build read from downloads (none for other sources)."""
        if name not in self.texts:
            app = self.plans[name].ref.app
            source = app.kustomize if app is not None else None
            self.texts[name] = [] if source is None else published.downloaded_texts(name, source, self.spec, self.repos)
        return self.texts[name]
