"""Published credentials: Secret values a downloaded source writes in its own files.

kfdeploy generates the credentials of its own library components; a kustomize source fetched by
URL (a ``spec.repos`` archive URL, the official kubeflow/manifests release, or a remote base a
kustomization names) brings the Secrets its authors wrote, with the same values for everyone
who downloads it. The rule: a value of a rendered Secret (``data`` or ``stringData``) is
*published* when it is written, as it is or base64-encoded, in a file the build read from a
download (a kustomization, whose ``secretGenerator`` literals it holds, or a file one names).
A value from ``spec.secrets`` (through ``postRender``), a generated one, or one from the user's
own files is not in the download, so it is not reported. Values are compared, never shown.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfdeploy.errors import KfdeployError
from kfdeploy.findings import Finding, ok, warn
from kfdeploy.kinds import SECRET, group_kind
from kfdeploy.objects import describe
from kfdeploy.render import kustomize_source
from kfdeploy.render import remote as remotes
from kfdeploy.render.repos import RepoResolver

if TYPE_CHECKING:
    from kfdeploy.render import Rendered
    from kfdeploy.spec import KfDef, KustomizeSource

CHECK = "credentials"
MIN_LENGTH = 4  # shorter values ("true", "") say nothing about where they came from
MAX_FILE = 1 << 20
Texts = list[tuple[str, str]]  # (URL of the download, text of a file the build read from it)


def findings(spec: KfDef, rendered: Rendered, repos: RepoResolver | None = None) -> list[Finding]:
    """A WARN per rendered Secret holding a value its downloaded source publishes; an OK when none does."""
    apps = {a.name: a for a in spec.spec.applications}
    repos = repos or RepoResolver.for_spec(spec)
    out: list[Finding] = []
    secrets = 0
    for app in rendered.applications:
        source = apps[app.name].kustomize if app.name in apps else None
        objs = [o for o in app.objects if group_kind(o) == SECRET]
        if source is None or not objs:
            continue
        try:
            texts = downloaded_texts(app.name, source, spec, repos)
        except KfdeployError as e:
            out.append(warn(CHECK, f"application {app.name}", f"cannot read its source to compare: {e.message}",
                            "render it once with network access (`kfdeploy build`), then check again"))
            continue
        secrets += len(objs)
        out += [_finding(app.name, obj, url, keys) for obj in objs for url, keys in _published(obj, texts)]
    return out or [ok(CHECK, "Secrets", f"{secrets} rendered from downloaded sources; none holds a value"
                      " written in its source")]


def _finding(app: str, obj: dict[str, Any], url: str, keys: list[str]) -> Finding:
    return warn(CHECK, describe(obj), f"{', '.join(keys)}: the value(s) {url} publishes (application {app});"
                " everyone who downloads it knows them",
                f"set them from spec.secrets with a postRender of application {app} (its params take"
                " {secretRef: NAME}); a value changed by hand in the cluster is put back by the next apply")


def _published(obj: dict[str, Any], texts: Texts) -> Iterator[tuple[str, list[str]]]:
    """(URL, keys) for each download that writes some of the Secret's values."""
    by_url: dict[str, list[str]] = {}
    for key, forms in _values(obj):
        url = next((u for u, text in texts if any(f in text for f in forms)), None)
        if url is not None:
            by_url.setdefault(url, []).append(key)
    yield from by_url.items()


def _values(obj: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """(key, the forms its value may be written in) per value long enough to tell."""
    for key, value in sorted((obj.get("data") or {}).items()):
        if not isinstance(value, str):
            continue
        forms = [value]
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            forms.append(base64.b64decode(value, validate=True).decode("utf-8"))
        forms = [f.strip() for f in forms if len(f.strip()) >= MIN_LENGTH]
        if forms:
            yield f"data.{key}", forms
    for key, value in sorted((obj.get("stringData") or {}).items()):
        if isinstance(value, str) and len(value.strip()) >= MIN_LENGTH:
            yield f"stringData.{key}", [value.strip()]


def downloaded_texts(app: str, source: KustomizeSource, spec: KfDef, repos: RepoResolver) -> Texts:
    """The text of every file the application's build read from a download, with its URL."""
    root, _, _ = kustomize_source(source, spec, repos)
    repo = next((r for r in spec.spec.repos if r.name == source.repo), None)
    url = repo.uri if repo is not None and repo.is_url else None
    confined = root if source.repo is not None else None
    out: Texts = []
    for start in [*source.paths, *source.components]:
        out += _walk((root / start).resolve(), confined, url, repos, f"application '{app}'")
    return out


def _walk(start: Path, root: Path | None, url: str | None, repos: RepoResolver, who: str) -> Texts:
    """Files read from ``start`` on: kept when ``url`` (their download) is known; remote bases
    fetched (from the cache the render filled) and read the same way."""
    out: Texts = []
    for folder in remotes.walk(start, root, who):
        if url is not None:
            out += [(url, t) for t in _read([folder.kfile, *(folder.path / r.value for r in
                                                              remotes.references(folder.data)
                                                              if not remotes.is_remote(r.value))])]
        for ref in folder.remote:
            remote = remotes.parse(ref.value, f"{who}: {folder.kfile} {ref.field}")
            got = remotes.fetch(remote, repos, who, "render it once with network access")
            if remote.is_file:
                out += [(remote.url, t) for t in _read([got.path])]
            else:
                out += _walk(got.path, got.tree, remote.url, repos, who)
    return out


def _read(paths: list[Path]) -> list[str]:
    texts = []
    for p in paths:
        if p.is_file() and p.stat().st_size <= MAX_FILE:
            try:
                texts.append(p.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                continue
    return texts
