"""The lock file: every URL a render fetched, with the sha256 of the bytes it got.

It lives beside the spec (``kfdef.yaml`` -> ``kfdef.lock``), in the spirit of ``go.sum`` and
``Chart.lock``: the first render that fetches a URL records its digest, later renders verify
against it and never fetch again what the lock and the cache hold. A download whose digest
differs from the lock is refused. The file is YAML, written deterministically (sources sorted by
URL) so it diffs cleanly in review::

    apiVersion: kfdeploy.io/v1
    kind: Lock
    sources:
    - url: https://github.com/argoproj/argo-workflows/archive/v3.7.3.tar.gz
      sha256: 0c1e...

The URLs are the ones written in the spec and its kustomizations (the archive URL for a git-style
remote base), before any rewrite to an artifact proxy, so one lock serves every network.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import RenderError

API_VERSION = "kfdeploy.io/v1"
KIND = "Lock"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MEMORY = "<memory>"


def lock_path(spec_path: str | Path) -> Path:
    """The lock of a spec: the spec file with its suffix replaced by ``.lock``."""
    return Path(spec_path).with_suffix(".lock")


@dataclass
class Lock:
    """The URL -> sha256 pins of one spec. ``path`` None keeps them in memory only (a spec
    read from memory, a recorded revision's pins, or ``init`` before its spec is written). Safe
    to share between threads."""

    path: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)
    name: str = ""  # what messages call a lock kept in memory (a recorded revision's)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def digest(self, url: str) -> str | None:
        with self._guard:
            return self.sources.get(url)

    def record(self, url: str, digest: str) -> None:
        """Pin ``url`` to ``digest`` and write the file at once (a later failure loses nothing)."""
        with self._guard:
            if self.sources.get(url) == digest:
                return
            self.sources[url] = digest
            if self.path is not None:
                try:
                    save(self)
                except OSError as e:
                    raise RenderError(f"{self.path}: cannot write the lock file: {e.strerror}",
                                      hint="make the spec's folder writable; the lock pins what was fetched") from e

    def to_data(self) -> dict[str, Any]:
        return {"apiVersion": API_VERSION, "kind": KIND,
                "sources": [{"url": u, "sha256": d} for u, d in sorted(self.sources.items())]}

    def text(self) -> str:
        """The lock file's text."""
        return yaml.safe_dump(self.to_data(), sort_keys=False, default_flow_style=False)


def for_spec(spec_source: str, base_dir: Path, pins: dict[str, str] | None = None) -> Lock:
    """The lock of a spec: ``pins`` given with it, in memory only (a recorded revision's lock);
    else the lock file beside the spec file ``spec_source`` in ``base_dir`` (empty if it does not
    exist yet; in memory only for a spec that is no file)."""
    if pins is not None:
        return Lock(None, dict(pins), name=f"the lock of {spec_source}")
    if spec_source in (MEMORY, "-", "") or spec_source.startswith("<"):
        return Lock()
    return load(lock_path(base_dir / Path(spec_source).name))


def from_text(text: str, where: str) -> dict[str, str]:
    """The pins of a lock file's text read from elsewhere than a file (``where`` names it)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RenderError(f"{where}: cannot read the lock: {e}") from e
    return parse(where, data)


def load(path: Path) -> Lock:
    """Read a lock file; a missing one is an empty lock that will be written at ``path``."""
    if not path.is_file():
        return Lock(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise RenderError(f"{path}: cannot read the lock file: {e}",
                          hint="restore it from version control, or delete it to pin what is fetched next") from e
    return Lock(path, parse(path, data))


def parse(path: Path | str, data: Any) -> dict[str, str]:
    problems: list[str] = []
    if not isinstance(data, dict) or data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
        problems.append(f"not a lock file (expected apiVersion {API_VERSION}, kind {KIND})")
        data = {}
    sources = data.get("sources") or []
    if not isinstance(sources, list):
        problems.append("sources must be a list of {url, sha256}")
        sources = []
    pins: dict[str, str] = {}
    for i, entry in enumerate(sources):
        url = entry.get("url") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not isinstance(digest, str) or not SHA256.match(digest):
            problems.append(f"sources[{i}] must be {{url, sha256}} with a lowercase hex sha256")
        elif pins.setdefault(url, digest) != digest:
            problems.append(f"sources[{i}]: {url} is pinned twice with different digests")
    if problems:
        raise RenderError(f"{path}: " + "; ".join(problems),
                          hint="restore the lock from version control, or delete it to pin what is fetched next")
    return pins


def save(lock: Lock) -> None:
    """Write the lock atomically (a temporary file renamed over it)."""
    assert lock.path is not None
    text = lock.text()
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=lock.path.parent, prefix=f".{lock.path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, lock.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def mismatch(url: str, locked: str, got: str, lock: Lock) -> RenderError:
    """A download whose bytes differ from the lock's pin."""
    if lock.path is None and lock.name:  # a recorded revision's: only its recorded bytes will do
        return RenderError(f"sha256 mismatch for {url}: {lock.name} pins {locked}, the download has {got}",
                           hint="the source changed since that revision was applied; import a vendor bundle"
                                " that holds the recorded bytes (kfdeploy vendor --import), or write the"
                                " revision back to the spec file (kfdeploy history --revision N), accept"
                                " the new bytes there and apply it")
    lock_name = str(lock.path) if lock.path else "the lock"
    return RenderError(f"sha256 mismatch for {url}: {lock_name} pins {locked}, the download has {got}",
                       hint=f"the source changed since it was locked; if the new bytes are trusted, "
                            f"delete its entry from {lock_name} and re-run")
