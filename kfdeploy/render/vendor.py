"""Vendor bundles: everything a spec's renders fetch, in one file, for a machine without network.

``write_bundle`` fetches (or finds in the cache) every URL the spec needs: the repos given as
URLs, every remote base their applications' kustomizations name, nested ones included, and the
charts of helm applications from chart repositories (with the chart they answer) and OCI
registries (manifest and chart layer). It packs the bytes exactly as downloaded, one file per
sha256, with an index and the lock, and the kustomize binary each release renders with
(``vendor_tools``)::

    kfdeploy-vendor/index.yaml          # apiVersion kfdeploy.io/v1, kind VendorBundle, sources, tools
    kfdeploy-vendor/kfdef.lock          # the same pins, as a lock file
    kfdeploy-vendor/sources/<sha256>    # the downloaded archive or file
    kfdeploy-vendor/tools/<sha256>      # a kustomize binary (version and os/arch in the index)

The archive is deterministic (sorted, no timestamps or owners). ``import_bundle`` reads it
through the same safe, bounded extractor as any archive, checks every file against its digest
and against the spec's lock, refuses binaries for another os/arch, fills the cache as a download
would have and installs the binaries into the tools dir: the next render with ``--offline`` finds
everything.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import RenderError
from kfdeploy.render import kustomize, vendor_tools
from kfdeploy.render.charts import fetch_chart, fetched
from kfdeploy.render.fetch import stderr_report, temp_prefix
from kfdeploy.render.lock import API_VERSION, Lock
from kfdeploy.render.lock import mismatch as lock_mismatch
from kfdeploy.render.lock import parse as parse_lock
from kfdeploy.render.repos import RepoResolver, extract, file_digest
from kfdeploy.spec import KfDef

TOP = "kfdeploy-vendor"
KIND = "VendorBundle"


def fetch_everything(spec: KfDef, repos: RepoResolver) -> None:
    """Resolve every URL repo and every remote base of the enabled kustomize applications."""
    for repo in spec.spec.repos:
        if repo.is_url:
            repos.root(repo)
    for app in spec.enabled_applications:
        if app.helm is not None and fetched(app.helm):
            fetch_chart(app.helm, repos, f"helm application '{app.name}'")
        source = app.kustomize
        if source is None:
            continue
        named = next((r for r in spec.spec.repos if r.name == source.repo), None)
        root = repos.root(named) if named is not None else spec.base_dir
        components = [(root / c).resolve() for c in source.components]
        for path in source.paths:
            with tempfile.TemporaryDirectory(prefix="kfdeploy-vendor-") as tmp:
                kustomize.resolve(app.name, (root / path).resolve(), path, components, repos,
                                  root if named is not None else None, Path(tmp))


def index(repos: RepoResolver) -> list[dict[str, Any]]:
    """What the resolver fetched: url, sha256, and the file name of a file source."""
    entries = []
    for url in sorted(repos.fetched):
        digest = repos.lock.digest(url)
        assert digest is not None  # every fetch pins its URL
        entry = {"url": url, "sha256": digest, "file": repos.file_name(digest)}
        entries.append({**entry, "chart": repos.recalled[url]} if url in repos.recalled else entry)
    return entries


def write_bundle(spec: KfDef, repos: RepoResolver, out: Path,
                 kustomize_versions: Iterable[str] = ()) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fetch everything ``spec`` needs and pack it into ``out`` (a .tar.gz), with the kustomize
    binaries its applications render with and ``kustomize_versions``; returns sources and tools."""
    fetch_everything(spec, repos)
    sources = index(repos)
    carried = vendor_tools.carry(vendor_tools.wanted(spec, repos, kustomize_versions), stderr_report)
    tools = [entry for entry, _ in carried]
    for s in sources:
        if not repos.blob(s["sha256"]).is_file():  # cached before bundles kept the bytes
            raise RenderError(f"{s['url']} is cached without its downloaded bytes",
                              hint=f"remove {repos.cache} (or its entry sha256/{s['sha256']}) and run vendor again")
    lock = Lock(None, {s["url"]: s["sha256"] for s in sources})
    members = {f"{TOP}/index.yaml": yaml.safe_dump({"apiVersion": API_VERSION, "kind": KIND, "sources": sources,
                                                    "tools": tools},
                                                   sort_keys=False).encode(),
               f"{TOP}/kfdef.lock": yaml.safe_dump(lock.to_data(), sort_keys=False).encode()}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f, gzip.GzipFile(filename="", fileobj=f, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            tar.addfile(member(name, len(data)), io.BytesIO(data))
        for s in sources:
            blob = repos.blob(s["sha256"])
            with blob.open("rb") as stream:
                tar.addfile(member(f"{TOP}/sources/{s['sha256']}", blob.stat().st_size), stream)
        for entry, binary in carried:
            with binary.open("rb") as stream:
                tar.addfile(member(f"{TOP}/tools/{entry['sha256']}", binary.stat().st_size, 0o755), stream)
    return sources, tools


def member(name: str, size: int, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid = size, 0, mode, 0, 0
    return info


def import_bundle(bundle: Path, repos: RepoResolver) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fill the cache from ``bundle``, each source verified against its digest and the lock, and
    install its kustomize binaries (verified, for this machine's os/arch) into the tools dir.
    Nothing is imported when any part is refused. Returns sources and tools (each with
    ``installed``: what happened, and ``path``)."""
    who = f"vendor bundle {bundle}"
    if not bundle.is_file():
        raise RenderError(f"{who} does not exist", hint="give the file `kfdeploy vendor -o` wrote")
    repos.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=repos.cache, prefix=temp_prefix("extract")) as tmp:
        extract(bundle, Path(tmp) / "tree", who, str(bundle))
        top = Path(tmp) / "tree" / TOP
        sources, tools = read_index(top / "index.yaml", who)
        vendor_tools.refuse_foreign(tools, who)
        for s in sources:
            verified(top / "sources" / s["sha256"], s["sha256"], s["url"], who)
            locked = repos.lock.digest(s["url"])
            if locked is not None and locked != s["sha256"]:
                raise lock_mismatch(s["url"], locked, s["sha256"], repos.lock)
        for t in tools:
            verified(top / "tools" / t["sha256"], t["sha256"], f"kustomize {t['version']}", who)
        for s in sources:
            url, digest = s["url"], s["sha256"]
            if not repos.complete(digest) or not repos.blob(digest).is_file():
                repos.add(url, who, digest, top / "sources" / digest, s.get("file"))
            repos.lock.record(url, digest)
            if isinstance(s.get("chart"), str):
                repos.remember(s["chart"], url)
        return sources, [vendor_tools.install(t, top / "tools" / t["sha256"]) for t in tools]


def verified(blob: Path, digest: str, what: str, who: str) -> None:
    """Refuse a bundle member that is missing or whose bytes are not ``digest``."""
    if not blob.is_file() or blob.is_symlink() or file_digest(blob) != digest:
        raise RenderError(f"{who}: the bytes of {what} are missing or do not match sha256 {digest}",
                          hint="the bundle is damaged: write it again with `kfdeploy vendor -o`")


def read_index(path: Path, who: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise RenderError(f"{who}: no readable {TOP}/index.yaml", hint="give a file `kfdeploy vendor -o` wrote") from e
    if not isinstance(data, dict) or data.get("kind") != KIND or not isinstance(data.get("sources"), list):
        raise RenderError(f"{who}: {TOP}/index.yaml is not a {KIND}", hint="give a file `kfdeploy vendor -o` wrote")
    parse_lock(path, {"apiVersion": API_VERSION, "kind": "Lock", "sources": data["sources"]})  # same checks
    sources: list[dict[str, Any]] = data["sources"]
    for s in sources:
        name = s.get("file")
        if name is not None and (not isinstance(name, str) or "/" in name or name.startswith(".")):
            raise RenderError(f"{who}: source {s.get('url')} has a bad file name {name!r}",
                              hint="give a file `kfdeploy vendor -o` wrote")
    return sources, vendor_tools.check(data.get("tools"), who)
