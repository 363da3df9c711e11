"""The render cache: each application's source output on disk, under a key of everything that
determines it (``render.key``), so a re-render of an unchanged spec reads a file instead of
running kustomize, helm or jsonnet again.

An entry is one JSON file, ``<cache>/<key[:2]>/<key>.json``, written to a temporary file and
renamed into place, so a reader sees a whole entry or none. An entry that cannot be read, or
is not what this version writes, counts as absent and is written again. Reading an entry sets its
modification time (``mark_used``): its last use, which ``kfdeploy cache prune`` goes by. Applications whose
render reads a credential or a ``spec.secrets`` value are never cached, so no entry holds one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfdeploy.tools import cache_folder

ENV_CACHE = "KFDEPLOY_RENDER_CACHE"
ENV_NO_CACHE = "KFDEPLOY_NO_CACHE"
FORMAT = 1  # what an entry holds; bump when that changes

Obj = dict[str, Any]


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """$KFDEPLOY_RENDER_CACHE, else ``$XDG_CACHE_HOME`` or ``~/.cache``, then ``kfdeploy/render``."""
    return cache_folder("render", ENV_CACHE, env)


def mark_used(path: Path) -> None:
    """Record that a cache entry was just used: its modification time, which ``render.caches``
    reads as the last use (access times are not kept by most mounts). A read-only cache skips it."""
    with contextlib.suppress(OSError):
        os.utime(path)


def disabled_by(env: Mapping[str, str]) -> bool:
    return env.get(ENV_NO_CACHE, "").lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class RenderCache:
    """Where entries live; ``root`` None is a cache that never holds anything (``--no-cache``)."""

    root: Path | None = None

    @classmethod
    def open(cls, enabled: bool = True, env: Mapping[str, str] | None = None) -> RenderCache:
        """The user's cache, unless ``enabled`` is False or $KFDEPLOY_NO_CACHE is set."""
        env = os.environ if env is None else env
        return cls(cache_dir(env) if enabled and not disabled_by(env) else None)

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def entry(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[Obj] | None:
        """The objects stored under ``key``; None when absent, unreadable or not this format."""
        if self.root is None:
            return None
        try:
            data = json.loads(self.entry(key).read_bytes())
        except (OSError, ValueError):
            return None
        if not (isinstance(data, dict) and data.get("format") == FORMAT and data.get("key") == key
                and isinstance(data.get("objects"), list)
                and all(isinstance(o, dict) for o in data["objects"])):
            return None
        objects: list[Obj] = data["objects"]
        mark_used(self.entry(key))
        return objects

    def put(self, key: str, objects: list[Obj]) -> None:
        """Store ``objects`` under ``key`` atomically; a cache that cannot be written is skipped
        (the render stands, the next run renders again)."""
        if self.root is None:
            return
        target = self.entry(key)
        text = json.dumps({"format": FORMAT, "key": key, "objects": objects}, separators=(",", ":"))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return
