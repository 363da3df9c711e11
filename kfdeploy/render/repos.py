"""spec.repos: from a URI to a local folder of manifests.

A folder is used in place. An archive (local, or downloaded over https) is extracted once into a
content-addressed cache, ``<cache>/sha256/<digest of the archive>/``, so the same bytes are never
extracted twice and a pinned ``sha256`` names the cache entry before anything is fetched: a
pinned repo that is cached is never downloaded again. Every URL fetched (repos and the remote
bases their kustomizations name, see ``render.remote``) is pinned in the spec's lock file
(``render.lock``), verified on every later download; an unlocked URL also remembers the digest it
downloaded (``<cache>/urls/<sha256 of the URL>``). Each use of an entry sets the modification time
of its completion mark, the last use ``kfdeploy cache prune`` goes by. Downloads go through ``render.fetch``
(https only, bounded). Archives holding a single top-level folder (as GitHub's do) are read from
inside it. Extraction refuses absolute paths, ``..``, device files and links leading out of the
archive (a link to a file inside it becomes a copy; no link is ever made), so an archive can
never write outside its cache entry, and archives past the bounds (``limits``: size,
ratio, entries) before anything is written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kfdeploy import limits
from kfdeploy.errors import RenderError
from kfdeploy.render.cache import mark_used
from kfdeploy.render.fetch import Access, Report, download, stderr_report, sweep, temp_prefix
from kfdeploy.render.lock import Lock
from kfdeploy.render.lock import for_spec as lock_for_spec
from kfdeploy.render.lock import mismatch as lock_mismatch
from kfdeploy.tools import cache_folder

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef, Repo

ENV_CACHE = "KFDEPLOY_REPO_CACHE"
CHUNK = 1 << 20
DONE_MARK = ".kfdeploy-complete"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """$KFDEPLOY_REPO_CACHE, else ``$XDG_CACHE_HOME`` or ``~/.cache``, then ``kfdeploy/repos``."""
    return cache_folder("repos", ENV_CACHE, env)


class RepoResolver:
    """Resolves each repo once per render; ``root(repo)`` is the folder its paths start from, and
    ``fetch(url)`` the cache entry of any URL a render needs (a remote base). Every URL fetched is
    pinned in ``lock``. Safe to share between the threads that render applications: a repo is
    resolved once, and downloads run one at a time."""

    def __init__(self, base_dir: Path, cache: Path | None = None, report: Report = stderr_report,
                 lock: Lock | None = None) -> None:
        self.base_dir = base_dir
        self.cache = cache or cache_dir()
        self.report = report
        self.lock = lock if lock is not None else Lock()
        self.fetched: set[str] = set()  # every URL this resolver was asked for (what a bundle carries)
        self.recalled: dict[str, str] = {}  # URL -> the remembered key it answers (a chart)
        self._roots: dict[str, Path] = {}
        self._guard = threading.Lock()
        self._fetching = threading.Lock()

    @classmethod
    def for_spec(cls, spec: KfDef, report: Report = stderr_report) -> RepoResolver:
        """The resolver of a spec's render, its lock the one given with the spec or beside the spec file."""
        return cls(spec.base_dir, report=report, lock=lock_for_spec(spec.source, spec.base_dir, spec.pins))

    def root(self, repo: Repo) -> Path:
        with self._guard:
            if repo.name not in self._roots:
                self._roots[repo.name] = self._resolve(repo)
            return self._roots[repo.name]

    def _resolve(self, repo: Repo) -> Path:
        if repo.is_url:
            return tree_root(self.fetch(repo.uri, f"repo '{repo.name}'", offline_hint(repo), pinned=repo.sha256))
        local = Path(repo.uri).expanduser()
        local = local if local.is_absolute() else (self.base_dir / local).resolve()
        if local.is_dir():
            if repo.sha256:
                raise RenderError(f"repo '{repo.name}': sha256 pins an archive, but {local} is a folder",
                                  hint="remove sha256, or point uri at the archive")
            return local
        if not local.is_file():
            raise RenderError(f"repo '{repo.name}': {local} does not exist",
                              hint="fix spec.repos uri (local paths are relative to the spec file)")
        digest = file_digest(local)
        check_digest(repo.sha256, digest, f"repo '{repo.name}'", repo.uri)
        return tree_root(self._stored(f"repo '{repo.name}'", repo.uri, digest, local, None))

    def fetch(self, url: str, who: str, hint: str, pinned: str | None = None, file_name: str | None = None,
              access: Access | None = None, check: Callable[[Path], object] | None = None) -> Path:
        """The complete cache entry of ``url``: its extracted archive, or a folder holding the
        file ``file_name``. What the lock (or ``pinned``) names and the cache holds is never
        downloaded again; a download is verified against both (and by ``check``, given the
        downloaded file), then pinned in the lock. ``access``: headers and 401 answers."""
        with self._fetching:
            self.fetched.add(url)
            expected = pinned or self.lock.digest(url) or self._remembered(url)
            if expected and self.complete(expected):
                self.lock.record(url, expected)
                return self._used(expected)
            self.cache.mkdir(parents=True, exist_ok=True)
            sweep(self.cache)
            with tempfile.TemporaryDirectory(dir=self.cache, prefix=temp_prefix("download")) as tmp:
                target = Path(tmp) / (file_name or archive_name(url))
                digest = download(url, target, who, self.report, hint, access)
                check_digest(pinned, digest, who, url)
                locked = self.lock.digest(url)
                if not pinned and locked and locked != digest:
                    raise lock_mismatch(url, locked, digest, self.lock)
                if check is not None:
                    check(target)
                return self.add(url, who, digest, target, file_name)

    def add(self, url: str, who: str, digest: str, source: Path, file_name: str | None) -> Path:
        """Put verified bytes in the cache: the entry, the bytes themselves (``blob``, what a
        vendor bundle carries), the URL's record and its lock pin."""
        entry = self._stored(who, url, digest, source, file_name)
        blob = self.blob(digest)
        if not blob.is_file():
            blob.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, blob)
        record = self._url_record(url)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(digest + "\n")
        self.lock.record(url, digest)
        return entry

    def blob(self, digest: str) -> Path:
        """The downloaded bytes of ``digest``, as fetched."""
        return self.cache / "blobs" / digest

    def file_name(self, digest: str) -> str | None:
        """The file a file entry holds (None for an extracted archive)."""
        lines = (self._entry(digest) / DONE_MARK).read_text().splitlines()
        return next((line.removeprefix("file: ") for line in lines if line.startswith("file: ")), None)

    def remember(self, key: str, value: str) -> None:
        """Keep an answer learnt online (a chart's archive URL) for offline renders."""
        record = self.cache / "names" / hashlib.sha256(key.encode()).hexdigest()
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(value + "\n")
        self.recalled[value] = key

    def recall(self, key: str) -> str | None:
        record = self.cache / "names" / hashlib.sha256(key.encode()).hexdigest()
        if not record.is_file():
            return None
        value = record.read_text().strip()
        self.recalled[value] = key
        return value

    def complete(self, digest: str) -> bool:
        return (self._entry(digest) / DONE_MARK).is_file()

    def _remembered(self, url: str) -> str | None:
        record = self._url_record(url)
        return record.read_text().strip() if record.is_file() else None

    def _entry(self, digest: str) -> Path:
        return self.cache / "sha256" / digest

    def _used(self, digest: str) -> Path:
        """The entry of ``digest``, its last use recorded."""
        mark_used(self._entry(digest) / DONE_MARK)
        return self._entry(digest)

    def _url_record(self, uri: str) -> Path:
        return self.cache / "urls" / hashlib.sha256(uri.encode()).hexdigest()

    def _stored(self, who: str, uri: str, digest: str, source: Path, file_name: str | None) -> Path:
        """The cache entry of ``digest``, made from ``source``: extracted, or copied as ``file_name``."""
        entry = self._entry(digest)
        if not self.complete(digest):
            entry.parent.mkdir(parents=True, exist_ok=True)
            sweep(entry.parent)
            with tempfile.TemporaryDirectory(dir=entry.parent, prefix=temp_prefix("extract")) as tmp:
                tree = Path(tmp) / "tree"
                if file_name is None:
                    extract(source, tree, who, uri)
                else:
                    tree.mkdir()
                    shutil.copyfile(source, tree / file_name)
                (tree / DONE_MARK).write_text(f"{uri}\n" + (f"file: {file_name}\n" if file_name else ""))
                if not self.complete(digest):  # another run may have finished meanwhile
                    shutil.rmtree(entry, ignore_errors=True)  # a half-written entry from a killed run
                    os.replace(tree, entry)
        return self._used(digest)


def archive_name(uri: str) -> str:
    name = uri.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return name if name.endswith((".tar.gz", ".tgz", ".zip")) else "archive.tar.gz"


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def check_digest(expected: str | None, actual: str, who: str, uri: str) -> None:
    if expected and expected != actual:
        raise RenderError(f"{who}: sha256 mismatch for {uri}: expected {expected}, got {actual}",
                          hint="the bytes are not the ones pinned; if the new ones are trusted, pin the"
                               " digest they have (spec.repos sha256, or helm.chart's @sha256)")


def offline_hint(repo: Repo) -> str:
    return (f"download {repo.uri} by other means and set spec.repos uri of '{repo.name}' to the "
            "local archive or its extracted folder, or import a bundle with `kfdeploy vendor --import`")


def entry_of(path: Path) -> Path | None:
    """The repo cache entry holding ``path``, if it lies in one."""
    return next((p for p in path.resolve().parents if (p / DONE_MARK).is_file()), None)


def tree_root(entry: Path) -> Path:
    """The folder paths start from: the single top-level folder of the archive, if that is all."""
    children = [c for c in entry.iterdir() if c.name != DONE_MARK]
    return children[0] if len(children) == 1 and children[0].is_dir() and not children[0].is_symlink() \
        else entry


def extract(archive: Path, dest: Path, who: str, uri: str) -> None:
    """Extract a .tar.gz/.tgz/.zip into ``dest``, refusing members that could escape it and
    archives over the bounds (``limits``: total size, ratio to the archive, entries)."""
    dest.mkdir(parents=True)
    try:
        bounds = Bounds(who, uri, archive.stat().st_size)
        if archive.name.endswith(".zip"):
            extract_zip(archive, dest, bounds)
        else:
            extract_tar(archive, dest, bounds)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError, IndexError) as e:
        # ValueError/IndexError: the standard library's own answer to some malformed member names
        # (a NUL byte in a tar name, an empty zip name); found by tests/unit/test_archive_fuzz.py.
        raise RenderError(f"{who}: {uri} is not a readable archive: {e}",
                          hint="use a .tar.gz, .tgz or .zip archive, or a folder") from e


class Bounds:
    """Counts an archive's entries and bytes as they are listed; refuses past the limits."""

    def __init__(self, who: str, uri: str, packed: int) -> None:
        self.who, self.uri = who, uri
        self.max_entries = limits.value(limits.EXTRACT_ENTRIES)
        by_size = limits.value(limits.EXTRACT_MB) * 1_000_000
        by_ratio = max(packed, 1_000_000) * limits.value(limits.EXTRACT_RATIO)
        self.max_bytes, self.size_limit = min((by_size, limits.EXTRACT_MB), (by_ratio, limits.EXTRACT_RATIO),
                                              key=lambda bound: bound[0])
        self.entries = self.size = 0

    def add(self, name: str, size: int) -> None:
        if unsafe_member(name):
            raise self.refuse(name, "path outside the archive")
        self.entries += 1
        self.size += max(size, 0)
        if self.entries > self.max_entries:
            raise self.over(limits.exceeded(limits.EXTRACT_ENTRIES, "its entry count"))
        if self.size > self.max_bytes:
            raise self.over(limits.exceeded(self.size_limit, "its extracted size"))

    def over(self, why: str) -> RenderError:
        return RenderError(f"{self.who}: archive {self.uri} is too large to extract: {why}; nothing was"
                           " extracted from it", hint="use an archive from a trusted source, or raise the limit")

    def refuse(self, member: str, why: str) -> RenderError:
        return RenderError(f"{self.who}: archive {self.uri} has an unsafe member {member!r} ({why});"
                           " nothing was extracted from it", hint="use an archive from a trusted source")


def unsafe_member(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (bool(path.parts) and ":" in path.parts[0])


def extract_tar(archive: Path, dest: Path, bounds: Bounds) -> None:
    """Regular files and folders only. A link is never made: one to a file inside the archive
    (source repositories have them) becomes a copy of that file; one leading out is refused."""
    with tarfile.open(archive, "r:*") as tar:
        members, links = [], []
        for m in tar:  # listed one by one, so a bomb is refused before it is all read
            bounds.add(m.name, m.size if m.isfile() else 0)
            if m.issym() or m.islnk():
                links.append((m.name, link_target(m, bounds)))
            elif m.isfile() or m.isdir():
                members.append(m)
            elif m.type not in (tarfile.XHDTYPE, tarfile.XGLTYPE):
                raise bounds.refuse(m.name, "special file")
        tar.extractall(dest, members=members, filter="data")
    for name, target in links:
        source = dest / target
        if source.is_file() and not source.is_symlink() and not (dest / name).exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest / name)


def link_target(m: tarfile.TarInfo, bounds: Bounds) -> str:
    """The archive path a link names; refused when it leads outside the archive."""
    base = PurePosixPath(m.name).parent if m.issym() else PurePosixPath()
    target = os.path.normpath(str(base / m.linkname)) if not m.linkname.startswith("/") else m.linkname
    if unsafe_member(target) or target.startswith(".."):
        raise bounds.refuse(m.name, f"link to {m.linkname}, outside the archive")
    return target


def extract_zip(archive: Path, dest: Path, bounds: Bounds) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            bounds.add(info.filename, info.file_size)
            if ((info.external_attr >> 16) & 0o170000) == 0o120000:
                raise bounds.refuse(info.filename, "link")
        zf.extractall(dest)
