"""spec.repos: from a URI to a local folder of manifests.

A folder is used in place. An archive (local, or downloaded over https) is extracted once into a
content-addressed cache, ``<cache>/sha256/<digest of the archive>/``, so the same bytes are never
extracted twice and a pinned ``sha256`` names the cache entry before anything is fetched: a
pinned repo that is cached is never downloaded again. An unpinned URL remembers the digest it
downloaded (``<cache>/urls/<sha256 of the URL>``). Archives holding a single top-level folder (as
GitHub's do) are read from inside it. Extraction refuses absolute paths, ``..``, links and
device files, so an archive can never write outside its cache entry.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import requests

from kfdeploy.errors import RenderError
from kfdeploy.tools import cache_folder

if TYPE_CHECKING:
    from kfdeploy.spec import Repo

ENV_CACHE = "KFDEPLOY_REPO_CACHE"
TIMEOUT = (15.0, 60.0)  # connect, read (between bytes): a stalled server fails, a big archive does not
CHUNK = 1 << 20
DONE_MARK = ".kfdeploy-complete"
Report = Callable[[str], None]


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """$KFDEPLOY_REPO_CACHE, else ``$XDG_CACHE_HOME`` or ``~/.cache``, then ``kfdeploy/repos``."""
    return cache_folder("repos", ENV_CACHE, env)


def stderr_report(text: str) -> None:
    print(f"kfdeploy: {text}", file=sys.stderr, flush=True)


class RepoResolver:
    """Resolves each repo once per render; ``root(repo)`` is the folder its paths start from.
    Safe to share between the threads that render applications: a repo is fetched once."""

    def __init__(self, base_dir: Path, cache: Path | None = None, report: Report = stderr_report) -> None:
        self.base_dir = base_dir
        self.cache = cache or cache_dir()
        self.report = report
        self._roots: dict[str, tuple[Path, str | None]] = {}
        self._lock = threading.Lock()

    def root(self, repo: Repo) -> Path:
        return self._resolved(repo)[0]

    def digest(self, repo: Repo) -> str | None:
        """The sha256 of the archive the repo was extracted from; None for a folder."""
        return self._resolved(repo)[1]

    def _resolved(self, repo: Repo) -> tuple[Path, str | None]:
        with self._lock:
            if repo.name not in self._roots:
                self._roots[repo.name] = self._resolve(repo)
            return self._roots[repo.name]

    def _resolve(self, repo: Repo) -> tuple[Path, str | None]:
        if repo.is_url:
            return self._from_url(repo)
        local = Path(repo.uri).expanduser()
        local = local if local.is_absolute() else (self.base_dir / local).resolve()
        if local.is_dir():
            if repo.sha256:
                raise RenderError(f"repo '{repo.name}': sha256 pins an archive, but {local} is a folder",
                                  hint="remove sha256, or point uri at the archive")
            return local, None
        if not local.is_file():
            raise RenderError(f"repo '{repo.name}': {local} does not exist",
                              hint="fix spec.repos uri (local paths are relative to the spec file)")
        digest = file_digest(local)
        check_digest(repo, digest)
        return self._extracted(repo, digest, local), digest

    def _from_url(self, repo: Repo) -> tuple[Path, str]:
        if repo.sha256 and self._entry(repo.sha256).is_dir():
            return tree_root(self._entry(repo.sha256)), repo.sha256
        remembered = self._url_record(repo.uri)
        if not repo.sha256 and remembered.is_file():
            digest = remembered.read_text().strip()
            if self._entry(digest).is_dir():
                return tree_root(self._entry(digest)), digest
        self.cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.cache, prefix=".download-") as tmp:
            archive = Path(tmp) / archive_name(repo.uri)
            digest = download(repo, archive, self.report)
            check_digest(repo, digest)
            root = self._extracted(repo, digest, archive)
        remembered.parent.mkdir(parents=True, exist_ok=True)
        remembered.write_text(digest + "\n")
        return root, digest

    def _entry(self, digest: str) -> Path:
        return self.cache / "sha256" / digest

    def _url_record(self, uri: str) -> Path:
        return self.cache / "urls" / hashlib.sha256(uri.encode()).hexdigest()

    def _extracted(self, repo: Repo, digest: str, archive: Path) -> Path:
        entry = self._entry(digest)
        if not (entry / DONE_MARK).is_file():
            entry.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=entry.parent, prefix=".extract-") as tmp:
                extract(archive, Path(tmp) / "tree", repo)
                (Path(tmp) / "tree" / DONE_MARK).write_text(f"{repo.uri}\n")
                if not (entry / DONE_MARK).is_file():  # another run may have finished meanwhile
                    shutil.rmtree(entry, ignore_errors=True)  # a half-written entry from a killed run
                    os.replace(Path(tmp) / "tree", entry)
        return tree_root(entry)


def archive_name(uri: str) -> str:
    name = uri.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return name if name.endswith((".tar.gz", ".tgz", ".zip")) else "archive.tar.gz"


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def check_digest(repo: Repo, actual: str) -> None:
    if repo.sha256 and repo.sha256 != actual:
        raise RenderError(f"repo '{repo.name}': sha256 mismatch for {repo.uri}: expected {repo.sha256},"
                          f" got {actual}", hint="the archive is not the one pinned; if the new one is"
                          " trusted, set spec.repos sha256 to the digest it got")


def offline_hint(repo: Repo) -> str:
    return (f"download {repo.uri} by other means and set spec.repos uri of '{repo.name}' to the "
            "local archive or its extracted folder")


def download(repo: Repo, dest: Path, report: Report) -> str:
    """Stream ``repo.uri`` into ``dest``; return its sha256. Progress every 10% (or 10 MB)."""
    h = hashlib.sha256()
    try:
        with requests.get(repo.uri, stream=True, timeout=TIMEOUT) as resp:
            if resp.status_code != 200:
                raise RenderError(f"repo '{repo.name}': downloading {repo.uri} failed: HTTP "
                                  f"{resp.status_code} {resp.reason}", hint=offline_hint(repo))
            total = int(resp.headers.get("Content-Length") or 0)
            report(f"repo '{repo.name}': downloading {repo.uri}" + (f" ({mb(total)})" if total else ""))
            done, shown = 0, 0
            with dest.open("wb") as out:
                for block in resp.iter_content(CHUNK):
                    out.write(block)
                    h.update(block)
                    done += len(block)
                    step = total // 10 if total else 10 * CHUNK
                    if done - shown >= max(step, CHUNK):
                        shown = done
                        report(f"repo '{repo.name}': {mb(done)}" + (f" of {mb(total)}" if total else ""))
    except requests.RequestException as e:
        raise RenderError(f"repo '{repo.name}': cannot download {repo.uri}: {reason(e)}",
                          hint=offline_hint(repo)) from e
    return h.hexdigest()


def reason(e: requests.RequestException) -> str:
    if isinstance(e, requests.exceptions.SSLError):
        return "TLS verification failed (set REQUESTS_CA_BUNDLE to your CA bundle if a proxy or " \
               "private CA signs it)"
    if isinstance(e, requests.Timeout):
        return f"no answer within {TIMEOUT[1]:.0f} s"
    if isinstance(e, requests.ConnectionError):
        return "cannot connect (offline, DNS or proxy problem)"
    return type(e).__name__


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def tree_root(entry: Path) -> Path:
    """The folder paths start from: the single top-level folder of the archive, if that is all."""
    children = [c for c in entry.iterdir() if c.name != DONE_MARK]
    return children[0] if len(children) == 1 and children[0].is_dir() and not children[0].is_symlink() \
        else entry


def extract(archive: Path, dest: Path, repo: Repo) -> None:
    """Extract a .tar.gz/.tgz/.zip into ``dest``, refusing members that could escape it."""
    dest.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            extract_zip(archive, dest, repo)
        else:
            extract_tar(archive, dest, repo)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise RenderError(f"repo '{repo.name}': {repo.uri} is not a readable archive: {e}",
                          hint="use a .tar.gz, .tgz or .zip archive, or a folder") from e


def unsafe_member(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (bool(path.parts) and ":" in path.parts[0])


def refuse(repo: Repo, member: str, why: str) -> RenderError:
    return RenderError(f"repo '{repo.name}': archive {repo.uri} has an unsafe member {member!r} ({why});"
                       " nothing was extracted from it", hint="use an archive from a trusted source")


def extract_tar(archive: Path, dest: Path, repo: Repo) -> None:
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for m in members:
            if unsafe_member(m.name):
                raise refuse(repo, m.name, "path outside the archive")
            if m.issym() or m.islnk():
                raise refuse(repo, m.name, "link")
            if not (m.isfile() or m.isdir()):
                raise refuse(repo, m.name, "special file")
        tar.extractall(dest, members=[m for m in members if m.isfile() or m.isdir()], filter="data")


def extract_zip(archive: Path, dest: Path, repo: Repo) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            mode = info.external_attr >> 16
            if unsafe_member(info.filename):
                raise refuse(repo, info.filename, "path outside the archive")
            if (mode & 0o170000) == 0o120000:
                raise refuse(repo, info.filename, "link")
        zf.extractall(dest)
