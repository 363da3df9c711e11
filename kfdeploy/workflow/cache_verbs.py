"""``kfdeploy cache list|prune``: what the download and render caches hold, and removing what has
not been used for a while while keeping what the given specs pin (``render.caches``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfdeploy.options import Options
from kfdeploy.render import caches
from kfdeploy.render.caches import Cache, Entry
from kfdeploy.render.fetch import mb
from kfdeploy.render.lock import for_spec as lock_for_spec
from kfdeploy.render.repos import file_digest
from kfdeploy.workflow.session import load_spec

DEFAULT_AGE = "30d"


def pins(files: tuple[str, ...]) -> set[str]:
    """The repos cache digests the specs need: their locks' pins, their repos' ``sha256`` and the
    digests of their repos that are local archives."""
    digests: set[str] = set()
    for file in files:
        spec = load_spec(file)
        digests |= set(lock_for_spec(spec.source, spec.base_dir).sources.values())
        for repo in spec.spec.repos:
            local = None if repo.is_url else Path(repo.uri).expanduser()
            if repo.sha256:
                digests.add(repo.sha256)
            elif local is not None and (spec.base_dir / local).is_file():
                digests.add(file_digest(spec.base_dir / local))
    return digests


def ago(seconds: float) -> str:
    """``3d``, ``5h``, ``12m``, ``40s``: the largest whole unit."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def entry_data(e: Entry, now: float) -> dict[str, Any]:
    data = {"cache": e.cache, "name": e.name, "bytes": e.bytes, "lastUsedSecondsAgo": round(now - e.last_used),
            "pinned": e.pinned, "temporary": e.temporary, "paths": [str(p) for p in e.paths]}
    return {**data, "url": e.url} if e.url else data


def entry_line(e: Entry, now: float) -> str:
    mark = "pinned" if e.pinned else "temporary" if e.temporary else ""
    used = f"used {ago(now - e.last_used)} ago"
    return f"  {e.cache:<6} {e.name[:16]:<16} {mb(e.bytes):>10}  {used:<14} {mark:<9} {e.url or ''}".rstrip()


def summary(entries: list[Entry]) -> str:
    return f"{len(entries)} entries, {mb(sum(e.bytes for e in entries))}"


@dataclass(frozen=True)
class CacheList:
    caches: list[Cache]
    specs: tuple[str, ...]
    now: float

    def to_data(self) -> dict[str, Any]:
        return {"specs": list(self.specs), "caches": [
            {"name": c.name, "path": str(c.path), "entries": len(c.entries), "bytes": sum(e.bytes for e in c.entries),
             "pinned": sum(e.pinned for e in c.entries),
             "items": [entry_data(e, self.now) for e in c.entries]} for c in self.caches]}

    def text(self) -> str:
        lines = []
        for c in self.caches:
            pinned = [e for e in c.entries if e.pinned]
            lines.append(f"{c.name:<6} {c.path}  {summary(list(c.entries))}"
                         + (f"; {summary(pinned)} pinned by {', '.join(self.specs)}"
                            if self.specs and c.name == "repos" else ""))
            # the render cache has an entry per application render: listed with -o json
            lines += [entry_line(e, self.now) for e in c.entries if c.name == "repos" or e.temporary]
        return "\n".join(lines)


@dataclass(frozen=True)
class CachePrune:
    removed: list[Entry]
    kept_pinned: list[Entry]
    older_than: str
    dry_run: bool
    specs: tuple[str, ...]
    now: float

    def to_data(self) -> dict[str, Any]:
        return {"dryRun": self.dry_run, "olderThan": self.older_than, "specs": list(self.specs),
                "freedBytes": 0 if self.dry_run else sum(e.bytes for e in self.removed),
                "removed": [entry_data(e, self.now) for e in self.removed],
                "keptPinned": [entry_data(e, self.now) for e in self.kept_pinned]}

    def text(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        by_cache = "; ".join(f"{name} {summary([e for e in self.removed if e.cache == name])}"
                             for name in ("repos", "render"))
        lines = [f"{verb} {summary(self.removed)} not used for {self.older_than} ({by_cache})"
                 + ("" if self.dry_run else f": freed {mb(sum(e.bytes for e in self.removed))}")]
        if self.kept_pinned:
            lines.append(f"kept {summary(self.kept_pinned)} pinned by {', '.join(self.specs)}")
        lines += [entry_line(e, self.now) for e in self.removed if e.cache == "repos" or e.temporary]
        return "\n".join(lines)


def listed(files: tuple[str, ...]) -> list[Cache]:
    return caches.mark_pins(caches.caches(), pins(files))


def cache_list(opts: Options, files: tuple[str, ...] = ()) -> CacheList:
    """Each cache's path, entries and bytes; the repos entries the specs pin marked."""
    return CacheList(listed(files), files, time.time())


def cache_prune(opts: Options, files: tuple[str, ...] = (), older_than: str = DEFAULT_AGE,
                dry_run: bool = False) -> CachePrune:
    """Remove the entries not used for ``older_than``, never one the specs pin."""
    seconds = caches.parse_duration(older_than)
    found = listed(files)
    now = time.time()
    removed = caches.prune(found, seconds, dry_run, now)
    kept = [e for c in found for e in c.entries if e.pinned and now - e.last_used > seconds]
    return CachePrune(removed, kept, older_than, dry_run, files, now)
