"""Remote references in kustomizations: found, confined, fetched by kfdeploy, and rendered offline.

kustomize fetches what a kustomization names by URL (a git repository folder, or a file such as
a release asset) each time it builds, unpinned. kfdeploy does it once, itself, before kustomize
runs:

- ``walk`` reads every kustomization reachable from the folder being built and the references it
  makes (``REFERENCES``). A local reference must stay inside its tree (the repo, or the fetched
  remote base), else the build is refused, naming the file and the reference.
- ``parse`` tells a remote reference's archive URL and folder (git-style, as kustomize writes
  them: ``https://github.com/ORG/REPO/PATH?ref=REF``, ``github.com/ORG/REPO//PATH?ref=REF``,
  ``...REPO.git//PATH``, GitLab alike) or its file URL (anything else over https).
- ``Mirror`` fetches each through the repo cache (pinned in the lock), and lays out a temporary
  copy of the folders the build reads, hard-linked from the cache, whose kustomizations name
  the fetched folders and files by relative paths. Nested remote bases are resolved the same way.
  The cache entries are never changed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import yaml

from kfdeploy.errors import RenderError

if TYPE_CHECKING:
    from kfdeploy.render.repos import RepoResolver

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Fields whose entries name a folder or file: (field, key inside each entry or None, may be remote).
REFERENCES: tuple[tuple[str, str | None, bool], ...] = (
    ("resources", None, True), ("bases", None, True), ("components", None, True),
    ("patches", "path", True), ("patchesStrategicMerge", None, True), ("patchesJson6902", "path", True),
    ("crds", None, False), ("generators", None, False), ("transformers", None, False),
    ("validators", None, False), ("replacements", "path", False), ("configurations", None, False),
)
REMOTE_OK = {f: remote for f, _, remote in REFERENCES}
GENERATORS = ("configMapGenerator", "secretGenerator")
FOLDER_FIELDS = ("resources", "bases", "components", "generators", "transformers", "validators")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
GIT_HOSTS = {"github.com": "github", "www.github.com": "github", "gitlab.com": "gitlab"}
FILE_SEGMENTS = frozenset({"releases", "raw", "blob"})
HINT = ("copy what it names into the repo (or another spec.repos entry) and reference it by a"
        " relative path")


def kustomization_file(folder: Path) -> Path | None:
    return next((folder / n for n in KUSTOMIZATION_FILES if (folder / n).is_file()), None)


@dataclass(frozen=True)
class Remote:
    """A remote reference: ``url`` is what is fetched (an archive, or the file itself)."""

    written: str
    url: str
    folder: str = ""
    is_file: bool = False


def is_remote(ref: str) -> bool:
    """Any scheme, ``git@``, or a host-looking first segment (``github.com/...``), in any case."""
    lower = ref.strip().lower()
    return bool(SCHEME.match(lower)) or lower.startswith(("git@", "git::")) or \
        lower.split("/", 1)[0] in GIT_HOSTS or "?ref=" in lower or "?version=" in lower


def parse(ref: str, where: str) -> Remote:
    """The archive (or file) URL of a remote reference; an unsupported one is an error."""
    text = ref.strip()
    lower = text.lower()
    if not SCHEME.match(lower) and lower.split("/", 1)[0] in GIT_HOSTS:
        text, lower = "https://" + text, "https://" + lower
    if not lower.startswith("https://"):
        scheme = lower.split("://", 1)[0] if "://" in lower else lower.split("@", 1)[0] + "@"
        raise RenderError(f"{where}: the remote reference {ref} uses {scheme}, which kfdeploy does not fetch;"
                          " it fetches https archives and files only", hint=HINT)
    parts = urlsplit(text)
    host, path = parts.hostname or "", parts.path
    query = parse_qs(parts.query)
    ref_name = (query.get("ref") or query.get("version") or ["HEAD"])[0]
    gitish = "//" in path.lstrip("/") or "ref" in query or "version" in query or ".git/" in path + "/"
    kind = GIT_HOSTS.get(host.lower())
    if kind is None:
        if gitish:
            raise RenderError(f"{where}: the remote reference {ref} is a git repository on {host}; kfdeploy"
                              " fetches git-style bases from github.com and gitlab.com (as archives)", hint=HINT)
        return Remote(ref, text, is_file=True)
    repo_path, _, folder = path.lstrip("/").partition("//")
    segments = [s for s in repo_path.split("/") if s]
    if len(segments) < 2:
        raise RenderError(f"{where}: the remote reference {ref} names no repository", hint=HINT)
    if not gitish and len(segments) > 2 and segments[2] in FILE_SEGMENTS:
        return Remote(ref, text, is_file=True)
    if not folder:
        folder = "/".join(segments[2:])
    org, name = segments[0], segments[1].removesuffix(".git")
    if kind == "github":
        url = f"https://github.com/{org}/{name}/archive/{ref_name}.tar.gz"
    else:
        url = f"https://gitlab.com/{org}/{name}/-/archive/{ref_name}/{name}-{ref_name.replace('/', '-')}.tar.gz"
    return Remote(ref, url, folder.strip("/"))


@dataclass
class Reference:
    """One entry of a kustomization naming a file or folder; ``set`` rewrites it in ``data``."""

    field: str
    value: str
    set: Callable[[str], None]


def load(kfile: Path) -> dict[str, Any] | None:
    """A kustomization's fields (unreadable files are kustomize's to report)."""
    try:
        data = yaml.load(kfile.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _setter(container: Any, key: Any) -> Callable[[str], None]:
    def put(value: str) -> None:
        container[key] = value
    return put


def references(data: dict[str, Any]) -> Iterator[Reference]:
    """Every file or folder a kustomization names (inline patches and literals are skipped)."""
    for field, key, _ in REFERENCES:
        entries = data.get(field)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            holder, at = (entry, key) if key else (entries, i)
            value = holder.get(at) if isinstance(holder, dict) else entry if key is None else None
            if isinstance(value, str) and value.strip() and "\n" not in value:
                yield Reference(f"{field}[{i}]" + (f".{key}" if key else ""), value, _setter(holder, at))
    for field in GENERATORS:
        gens = data.get(field)
        for i, gen in enumerate(gens if isinstance(gens, list) else []):
            if not isinstance(gen, dict):
                continue
            for key in ("files", "envs"):
                items = gen.get(key)
                for j, item in enumerate(items if isinstance(items, list) else []):
                    if isinstance(item, str):
                        yield Reference(f"{field}[{i}].{key}[{j}]", item.split("=", 1)[-1], _setter(gen[key], j))
            if isinstance(gen.get("env"), str):
                yield Reference(f"{field}[{i}].env", gen["env"], _setter(gen, "env"))
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield Reference("openapi.path", openapi["path"], _setter(openapi, "path"))


def may_be_remote(field: str) -> bool:
    """Only the fields kustomize itself fetches URLs for (a generator's file never is)."""
    return REMOTE_OK.get(field.split("[")[0], False)


def inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@dataclass
class Folder:
    """A kustomization folder reached by a build, with what it references."""

    path: Path
    kfile: Path
    data: dict[str, Any]
    remote: list[Reference]


def walk(start: Path, root: Path | None, who: str) -> list[Folder]:
    """Every kustomization folder reachable from ``start`` through local references; each local
    reference checked to stay inside ``root`` (when given)."""
    found: list[Folder] = []
    seen: set[Path] = set()
    todo = [start.resolve()]
    real_root = root.resolve() if root is not None else None
    while todo:
        current = todo.pop()
        kfile = kustomization_file(current)
        if current in seen or kfile is None:
            continue
        seen.add(current)
        data = load(kfile)
        if data is None:
            continue
        folder = Folder(current, kfile, data, [])
        for ref in references(data):
            if is_remote(ref.value):
                if not may_be_remote(ref.field):
                    raise RenderError(f"{who}: {kfile} {ref.field} names {ref.value}: kustomize does not"
                                      " fetch this field, and kfdeploy does not either", hint=HINT)
                folder.remote.append(ref)
                continue
            target = (current / ref.value).resolve()
            if real_root is not None and not inside(target, real_root):
                raise RenderError(f"{who}: {kfile} {ref.field} {ref.value!r} leads outside its tree"
                                  f" ({real_root}); a repo's kustomizations may reference only its own files",
                                  hint="use a repo whose kustomizations stay inside it")
            if target.is_dir() and ref.field.split("[")[0] in FOLDER_FIELDS:
                todo.append(target)
        found.append(folder)
    return found


def has_remote(folders: list[Folder]) -> bool:
    return any(f.remote for f in folders)


class Mirror:
    """A temporary tree, ``base``, in which fetched remote bases stand beside copies of the
    folders that reference them; see the module docstring."""

    def __init__(self, base: Path, repos: RepoResolver, who: str) -> None:
        self.base = base
        self.repos = repos
        self.who = who
        self._placed: dict[Path, Path] = {}

    def place(self, start: Path, root: Path | None, anchor: Path, dest: Path,
              folders: list[Folder] | None = None) -> Path:
        """Copy ``start``'s reachable folders from ``anchor`` to ``dest``, remote references
        resolved; return where ``start`` landed."""
        for folder in folders if folders is not None else walk(start, root, self.who):
            target = dest / folder.path.relative_to(anchor.resolve())
            if folder.path in self._placed:
                continue
            self._placed[folder.path] = target
            link_tree(folder.path, target)
            if folder.remote:
                for ref in folder.remote:
                    ref.set(self.resolve(ref, folder, target))
                written = target / folder.kfile.name
                written.unlink()
                written.write_text(yaml.safe_dump(folder.data, sort_keys=False), encoding="utf-8")
        return dest / start.resolve().relative_to(anchor.resolve())

    def resolve(self, ref: Reference, folder: Folder, target: Path) -> str:
        """The relative path, from the copy of ``folder``, of what ``ref`` names, fetched."""
        where = f"{shown(folder.kfile)} {ref.field}"
        remote = parse(ref.value, f"{self.who}: {where}")
        hint = (f"run once with network access, or `kfdeploy vendor --import` a bundle holding {remote.url}")
        label = f"{self.who}: remote {'file' if remote.is_file else 'base'} {ref.value} ({where})"
        got = fetch(remote, self.repos, label, hint)
        if remote.is_file:
            local = target / f".remote-{got.entry.name[:12]}-{got.path.name}"
            if not local.exists():
                link(got.path, local)
            return local.name
        if not inside(got.path, got.tree.resolve()) or kustomization_file(got.path) is None:
            raise RenderError(f"{label}: {remote.folder or 'the top folder'} of {remote.url} holds no"
                              " kustomization", hint="check the reference's path and ref")
        landed = self.place(got.path, got.tree, got.tree, self.base / "remote" / got.entry.name)
        return os.path.relpath(landed, target)


@dataclass(frozen=True)
class Fetched:
    """Where a remote reference is in the repos cache."""

    entry: Path  # the cache entry
    path: Path  # the file itself, or the folder the reference names (resolved)
    tree: Path  # a base: the archive's top folder; a file: its entry


def fetch(remote: Remote, repos: RepoResolver, label: str, hint: str) -> Fetched:
    """Fetch (or find cached) what ``remote`` names, through the repos cache."""
    if remote.is_file:
        name = file_name(remote.url)
        entry = repos.fetch(remote.url, label, hint, file_name=name)
        return Fetched(entry, entry / name, entry)
    from kfdeploy.render.repos import tree_root

    entry = repos.fetch(remote.url, label, hint)
    tree = tree_root(entry)
    return Fetched(entry, (tree / remote.folder).resolve(), tree)


def shown(path: Path) -> str:
    """A path for messages: inside a repo cache entry, from the archive's own top folder."""
    from kfdeploy.render.repos import entry_of

    entry = entry_of(path)
    return str(path.resolve().relative_to(entry)) if entry is not None else str(path)


def file_name(url: str) -> str:
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "resource.yaml"


def link(source: Path, dest: Path) -> None:
    """A hard link (the cache is on the same disk), else a copy."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def link_tree(source: Path, dest: Path) -> None:
    """``source``'s files under ``dest``, linked; files already there are kept."""
    for top, dirs, files in os.walk(source):
        out = dest / os.path.relpath(top, source)
        out.mkdir(parents=True, exist_ok=True)
        for name in files:
            if not (out / name).exists():
                link(Path(top) / name, out / name)
        dirs[:] = [d for d in dirs if not (Path(top) / d).is_symlink()]
