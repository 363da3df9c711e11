"""What determines an application's source output: the render cache's key.

The key is the sha256 of everything a source render reads, so an entry is used only for the
same inputs (``render.cache``):

- kfdeploy itself: its version and the digest of its code;
- the application: its name, namespace, resolved params and its whole spec entry (source,
  paths, components, chart, values, patches, images, replicas, postRender, ...);
- the files it reads: every file under each kustomization folder the build reaches (kustomize
  reads files only under a kustomization's own folder); a local chart's files and the values
  files; a jsonnet file and every file it imports, for components and postRender alike; patch
  files;
- the tools: which kustomize (kubectl's binary: path, size, modification time; and the version
  chosen for the repo) and helm binary, which jsonnet evaluator and its version, the Kubernetes
  version helm renders for;
- the lock the render starts from (it pins every remote base a build fetches, and the chart
  of a chart repository or OCI registry).

What runs after the source (the process chain, platform adjustments, the image registry) is
not cached, so its inputs need no key. Not cached at all: applications whose render reads a
credential or a ``spec.secrets`` value, charts fetched from a repository without a pinned
version (the latest version changes under the same spec), and charts whose values differ
between two renders (``render.volatile``: they are secret).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import kfdeploy
from kfdeploy.render import helm, jsonnet, kustomize, kustomize_pin, oci, remote
from kfdeploy.render.params import AppPlan, mask_secrets
from kfdeploy.render.repos import RepoResolver

if TYPE_CHECKING:
    from kfdeploy.library import Library
    from kfdeploy.spec import Application, HelmSource, KfDef, KustomizeSource

T = TypeVar("T")
IMPORT = re.compile(r"""\bimport(?:str|bin)?\s*@?(['"])(.*?)(?<!\\)\1""")
SKIPPED_DIRS = frozenset({".git"})


def needs_cluster_credentials(plan: AppPlan) -> bool:
    """Whether the application's render reads credentials kept in the cluster."""
    return plan.component is not None and bool(plan.component.credentials)


def reads_secrets(plan: AppPlan) -> bool:
    """Whether its render reads a credential or a ``spec.secrets`` value (never cached)."""
    app = plan.ref.app
    values = app.helm.values if app is not None and app.helm is not None else {}
    return needs_cluster_credentials(plan) or any(mask_secrets(v) != v for v in (plan.params, values))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def code_identity() -> str:
    """kfdeploy's version and the digest of its code (a changed renderer renders again)."""
    package = Path(kfdeploy.__file__).parent
    files = sorted(package.rglob("*.py"))
    return kfdeploy.__version__ + " " + digest(b"".join(
        str(f.relative_to(package)).encode() + b"\0" + f.read_bytes() for f in files))


def engine_identity() -> str:
    """The jsonnet evaluator renders use, with its version."""
    return _engine_version(jsonnet.engine().name)


@cache
def _engine_version(name: str) -> str:
    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:
        return name




def jsonnet_files(main: Path, jpath: list[Path]) -> list[Path]:
    """``main`` and every file it imports, transitively: an import is resolved next to the
    importing file, then along ``jpath`` (every candidate that exists is kept). Names that
    resolve nowhere are kfdeploy's key too, as missing files."""
    seen: list[Path] = []
    todo = [main]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        try:
            text = current.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for match in IMPORT.finditer(text):
            name = match.group(2)
            candidates = [(d / name).resolve() for d in [current.parent, *jpath]]
            found = [c for c in candidates if c.is_file()]
            todo += found or candidates[:1]
    return seen


def covering(folders: Iterable[Path]) -> list[Path]:
    """The folders, without those inside another of them."""
    out: list[Path] = []
    for folder in sorted(set(folders)):
        if not any(folder.is_relative_to(o) for o in out):
            out.append(folder)
    return out


class Inputs:
    """Digests of what renders read; each file and folder is read once per run, however many
    applications share it. Safe to use from the threads that render applications."""

    def __init__(self, spec: KfDef, library: Library, repos: RepoResolver) -> None:
        self.spec = spec
        self.library = library
        self.repos = repos
        self._memo: dict[tuple[str, Path], Any] = {}
        # The lock the render starts from (it pins every remote base); taken before any render
        # records what it fetches.
        self.pins = digest(json.dumps(repos.lock.to_data(), sort_keys=True).encode())
        self._lock = threading.Lock()

    def key(self, plan: AppPlan) -> str | None:
        """The cache key of one application's source output; None when it is never cached."""
        parts = self.parts(plan)
        return None if parts is None else digest(json.dumps(parts, sort_keys=True, default=str).encode())

    def parts(self, plan: AppPlan) -> dict[str, Any] | None:
        """Everything the key covers, by name; None when the application is never cached."""
        if reads_secrets(plan):
            return None
        app = plan.ref.app
        parts: dict[str, Any] = {"kfdeploy": code_identity(), "application": plan.name,
                                 "namespace": plan.namespace, "params": plan.params,
                                 "spec": app.model_dump(mode="json") if app is not None else None}
        if app is not None and app.kustomize is not None:
            parts["source"] = self.kustomize(app.kustomize, f"application '{plan.name}'")
        elif app is not None and app.helm is not None:
            parts["source"] = self.helm(app.helm)
            if parts["source"] is None:
                return None
        else:
            assert plan.component is not None
            parts["source"] = self.jsonnet(plan.component.main)
        if app is not None and plan.component is None:
            parts["customizations"] = self.customizations(app)
        return parts

    def kustomize(self, source: KustomizeSource, who: str) -> dict[str, Any]:
        root, repo = self.spec.base_dir, None
        if source.repo is not None:
            repo = next(r for r in self.spec.spec.repos if r.name == source.repo)  # the spec checked it
            root = self.repos.root(repo)
        choice = kustomize_pin.choose(repo, root) if repo is not None else kustomize_pin.DEFAULT
        folders = [(root / p).resolve() for p in [*source.paths, *source.components]]
        reached = [f.path for folder in folders for f in remote.walk(folder, None, who)]
        return {"files": self.joined([self.tree(f) for f in covering(reached)]),
                "kustomize": [kustomize.renderer(), choice.describe()], "lock": self.pins}

    def helm(self, source: HelmSource) -> dict[str, Any] | None:
        chart = Path(helm.chart_ref(source.chart, self.spec.base_dir))
        if chart.is_dir():
            files = self.tree(chart)
        elif chart.is_file():
            files = self.file(chart)
        elif source.version or oci.is_oci(source):
            files = None  # a chart of a repository or registry at a version (or digest): named in
            # the spec entry, its bytes pinned by the lock
        else:
            return None
        kube_version = self.library.platform(self.spec.spec.platform.kind).kubernetes_version
        return {"chart": files, "valuesFiles": [self.file(self.spec.resolve_path(f)) for f in source.values_files],
                "helm": helm.renderer(), "kubeVersion": kube_version, "lock": self.pins if files is None else None}

    def jsonnet(self, main: Path) -> dict[str, Any]:
        files = jsonnet_files(main.resolve(), self.library.jpath)
        return {"files": {str(f): self.file(f) for f in files}, "engine": engine_identity()}

    def customizations(self, app: Application) -> dict[str, Any]:
        patches = [self.file(self.spec.resolve_path(p.path)) if p.path else None for p in app.patches]
        post = self.jsonnet(self.spec.resolve_path(app.post_render)) if app.post_render else None
        return {"patchFiles": patches, "postRender": post}

    def file(self, path: Path) -> str:
        return self._memoized("file", path, lambda: digest(path.read_bytes()) if path.is_file() else "missing")

    def tree(self, folder: Path) -> str:
        """Every file under ``folder`` (links followed, ``.git`` left out): names and contents."""
        return self._memoized("tree", folder, lambda: self.joined(
            f"{path.relative_to(folder)}:{self.file(path)}" for path in files_under(folder)))

    @staticmethod
    def joined(items: Iterable[str]) -> str:
        return digest("\n".join(items).encode())

    def _memoized(self, kind: str, path: Path, compute: Callable[[], T]) -> T:
        with self._lock:
            if (kind, path) in self._memo:
                known: T = self._memo[(kind, path)]
                return known
        value = compute()
        with self._lock:
            self._memo[(kind, path)] = value
        return value


def files_under(folder: Path) -> list[Path]:
    """Files under ``folder`` in a stable order, following links once (a loop is not re-entered)."""
    out: list[Path] = []
    seen: set[str] = set()
    for top, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        out += [Path(top) / n for n in sorted(names)]
    return out
