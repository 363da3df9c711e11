"""kfdeploy's download and render caches as a whole: what they hold, when each entry was last
used, and removing what has not been used for a while (``kfdeploy cache list|prune``).

- The repos cache (``render.repos``): one entry per digest, ``sha256/<digest>/`` (the extracted
  archive or the downloaded file) with ``blobs/<digest>`` (its bytes, for vendor bundles). Small
  ``urls/`` records name the digest a URL downloaded; one naming a removed entry goes with it.
- The render cache (``render.cache``): one entry per application render, ``<xx>/<key>.json``.

Last use is the modification time of a repos entry's completion mark and of a render entry's
file, set by every read that uses them (``cache.mark_used``): access times are not kept by most
mounts, and an index would be one more file for concurrent runs to fight over.

Pruning is safe beside a running kfdeploy. Writers build under a dot name (``.download-<pid>-``,
``.extract-<pid>-``, ``.tmp-``) and rename into place; such a temporary is removed only when its
writer is gone (``fetch.stale``) and nothing in it changed for ``GRACE``. An entry is renamed away
before it is deleted, so a reader sees it whole or not at all; a removed entry costs a download or
a render when next needed. What a spec's lock pins (and its repos' archives) is never removed.
Symlinks are never followed: one found in a cache (kfdeploy makes none) is neither counted,
entered nor removed, and removing an entry unlinks a link inside it without touching its target.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from kfdeploy.errors import UsageError
from kfdeploy.render import cache as render_cache
from kfdeploy.render import repos as repo_cache
from kfdeploy.render.fetch import stale, temp_prefix

GRACE = 24 * 3600.0  # seconds a temporary may sit unchanged before it counts as abandoned
DIGEST = re.compile(r"^[0-9a-f]{64}$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION = re.compile(r"^(?:\d{1,6}[smhdw])+$")


def parse_duration(text: str) -> float:
    """``30d``, ``12h``, ``1w2d``, ``90m``, ``0s`` -> seconds."""
    if not DURATION.match(text.strip()):
        raise UsageError(f"--older-than {text!r} is not a duration",
                         hint="give a number and a unit, s m h d or w, e.g. 30d, 12h or 1w2d")
    return float(sum(int(n) * UNITS[u] for n, u in re.findall(r"(\d+)([smhdw])", text)))


@dataclass(frozen=True)
class Entry:
    """One removable thing in a cache: its files, their bytes and last use."""

    cache: str  # "repos" | "render"
    name: str  # the digest (repos), the render key, or a temporary's file name
    paths: tuple[Path, ...]
    bytes: int
    last_used: float
    url: str | None = None  # repos: what it holds
    pinned: bool = False
    temporary: bool = False


@dataclass(frozen=True)
class Cache:
    name: str
    path: Path
    entries: tuple[Entry, ...]


def caches() -> list[Cache]:
    """The repos and render caches of this user, as the environment places them (a cache folder
    that is itself a symlink, to another disk, is followed: it is the cache)."""
    repos, renders = repo_cache.cache_dir(), render_cache.cache_dir()
    return [Cache("repos", repos, tuple(repo_entries(repos.resolve()))),
            Cache("render", renders, tuple(render_entries(renders.resolve())))]


def mtime(path: Path) -> float:
    """The modification time of ``path`` itself (0 when a concurrent run removed it)."""
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0


def real_dir(path: Path) -> bool:
    """A folder that is no symlink."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def children(folder: Path) -> list[Path]:
    """A real folder's children, sorted; nothing for a link, a file or a missing folder."""
    if not real_dir(folder):
        return []
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def walk(path: Path) -> Iterator[os.stat_result]:
    """The lstat of ``path`` and of everything under it, never through a symlink."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    yield st
    if stat.S_ISDIR(st.st_mode):
        for child in children(path):
            yield from walk(child)


def size(paths: Iterable[Path]) -> int:
    return sum(st.st_size for p in paths for st in walk(p) if stat.S_ISREG(st.st_mode))


def newest(paths: Iterable[Path]) -> float:
    return max((st.st_mtime for p in paths for st in walk(p)), default=0.0)


def temporary(cache: str, path: Path) -> Entry:
    return Entry(cache, path.name, (path,), size([path]), newest([path]), temporary=True)


def repo_entries(root: Path) -> Iterator[Entry]:
    """The repos cache: one entry per digest (extracted folder and downloaded bytes), then the
    temporaries of writers."""
    digests: dict[str, list[Path]] = {}
    for folder in (root / "sha256", root / "blobs"):
        for child in children(folder):
            if child.is_symlink():
                continue
            if child.name.startswith("."):
                yield temporary("repos", child)
            elif DIGEST.match(child.name):
                digests.setdefault(child.name, []).append(child)
    for digest, paths in sorted(digests.items()):
        mark = root / "sha256" / digest / repo_cache.DONE_MARK
        used = [mark] if mark.is_file() and not mark.is_symlink() else paths
        yield Entry("repos", digest, tuple(paths), size(paths), max(mtime(p) for p in used), url_of(mark))
    for child in children(root):
        if child.name.startswith(".") and not child.is_symlink():
            yield temporary("repos", child)


def url_of(mark: Path) -> str | None:
    """The URL (or local archive) an entry was made from: the first line of its mark."""
    try:
        return mark.read_text(encoding="utf-8", errors="replace").partition("\n")[0] or None
    except OSError:
        return None


def render_entries(root: Path) -> Iterator[Entry]:
    """The render cache: ``<xx>/<key>.json`` files, and writers' ``.tmp-`` files."""
    for folder in children(root):
        if folder.name.startswith(".") and not folder.is_symlink():
            yield temporary("render", folder)
        for child in children(folder):
            if child.is_symlink() or not child.is_file():
                continue
            if child.name.startswith("."):
                yield temporary("render", child)
            elif child.name.endswith(".json"):
                yield Entry("render", child.name.removesuffix(".json"), (child,), size([child]), mtime(child))


def mark_pins(found: list[Cache], pins: set[str]) -> list[Cache]:
    """The caches with each repos entry whose digest is in ``pins`` marked pinned."""
    return [replace(c, entries=tuple(replace(e, pinned=e.cache == "repos" and e.name in pins) for e in c.entries))
            for c in found]


def removable(entry: Entry, older_than: float, now: float) -> bool:
    """Unpinned and unused for ``older_than`` seconds; a temporary also abandoned by its writer."""
    if entry.pinned:
        return False
    if entry.temporary:
        return now - entry.last_used > max(older_than, GRACE) and all(stale(p) for p in entry.paths)
    return now - entry.last_used > older_than


def remove(entry: Entry, root: Path, older_than: float) -> bool:
    """Remove ``entry`` unless a concurrent run used it since it was listed: each path is first
    renamed to a temporary name in ``root``, then deleted. Returns whether it was removed."""
    if not entry.temporary and time.time() - newest_use(entry) <= older_than:
        return False
    for i, path in enumerate(entry.paths):
        away = root / f"{temp_prefix('prune')}{entry.name[:16]}-{i}"
        try:
            os.rename(path, away)
        except OSError:
            continue  # gone already, or moved by another prune
        if real_dir(away):
            shutil.rmtree(away, ignore_errors=True)
        else:
            away.unlink(missing_ok=True)
    return True


def newest_use(entry: Entry) -> float:
    """The entry's last use as the disk says now (a run may have used it since it was listed)."""
    mark = entry.paths[0] / repo_cache.DONE_MARK if entry.cache == "repos" else entry.paths[0]
    return mtime(mark) or entry.last_used


def forget_urls(root: Path, digests: set[str]) -> None:
    """Remove the ``urls/`` records that name a removed entry."""
    for record in children(root / "urls"):
        try:
            if not record.is_symlink() and record.read_text(encoding="utf-8").strip() in digests:
                record.unlink()
        except OSError:
            continue


def prune(found: list[Cache], older_than: float, dry_run: bool, now: float | None = None) -> list[Entry]:
    """Remove (or, ``dry_run``, list) what ``removable`` allows; returns what went."""
    now = time.time() if now is None else now
    gone: list[Entry] = []
    for c in found:
        chosen = [e for e in c.entries if removable(e, older_than, now)]
        gone += chosen if dry_run else [e for e in chosen if remove(e, c.path, older_than)]
        if c.name == "repos" and not dry_run:
            forget_urls(c.path, {e.name for e in gone if e.cache == "repos" and not e.temporary})
    return gone
