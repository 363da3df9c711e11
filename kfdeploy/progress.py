"""Progress on long work, on stderr so stdout stays clean for -o json|yaml; every line is
scrubbed of the secret values the run knows (``kfdeploy.scrub``).

One system: a ``Progress`` receives one status line at a time (platforms, waits); the workflow
passes ``Printer.line``, which also draws the engine's per-application states (``Printer.app``).
On a terminal, a live block with one line per active application (state, detail, elapsed);
elsewhere (CI logs, pipes, -o json) plain timestamped lines, one per state change.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from kfdeploy.scrub import scrub

Progress = Callable[[str], None]
"""Receives one human-readable status line at a time."""


def no_progress(line: str) -> None:
    """A Progress that drops every line."""


Observer = Callable[[str, str, str, str], None]
"""(kind "line" | "app", the printed text, application, state): a second reader of the same lines
(``kfdeploy ui`` streams them to its page)."""

_FINAL = {"rendered", "applied", "unchanged", "failed", "skipped", "pruned"}
_MARK = {"rendered": "·", "applied": "✓", "unchanged": "=", "failed": "✗", "skipped": "-", "pruned": "✓"}


class Printer:
    def __init__(self, stream: TextIO | None = None, live: bool | None = None, quiet: bool = False,
                 observer: Observer | None = None) -> None:
        self.stream = stream or sys.stderr
        self.observer = observer
        self.live = self.stream.isatty() if live is None else live
        self.quiet = quiet
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._active: dict[str, tuple[str, str, float]] = {}
        self._drawn = 0
        self._last: dict[str, str] = {}

    def line(self, text: str) -> None:
        """One status line (platform steps, notes)."""
        text = scrub(text)
        if self.observer:
            self.observer("line", text, "", "")
        if self.quiet:
            return
        with self._lock:
            self._clear()
            print(f"{self._elapsed()} {text}", file=self.stream, flush=True)
            self._draw()

    def app(self, name: str, state: str, detail: str = "") -> None:
        """An application changed state or made progress."""
        detail = scrub(detail)
        if self.observer:
            mark = f"{_MARK[state]} " if state in _FINAL else ""
            self.observer("app", f"{mark}{name}: {state}" + (f" ({detail})" if detail else ""), name, state)
        if self.quiet:
            return
        with self._lock:
            started = self._active.get(name, ("", "", time.monotonic()))[2]
            if state in _FINAL:
                self._active.pop(name, None)
                self._clear()
                print(f"{self._elapsed()} {_MARK[state]} {name}: {state}" + (f" ({detail})" if detail else ""),
                      file=self.stream, flush=True)
                self._draw()
                return
            self._active[name] = (state, detail, started)
            if self.live:
                self._clear()
                self._draw()
            elif self._last.get(name) != state:  # plain mode: state changes only
                self._last[name] = state
                print(f"{self._elapsed()}   {name}: {state}" + (f" ({detail})" if detail else ""),
                      file=self.stream, flush=True)

    def _elapsed(self) -> str:
        return f"[{time.monotonic() - self.start:6.1f}s]"

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        if not self.live:
            return
        now = time.monotonic()
        width = shutil.get_terminal_size().columns - 1  # a wrapped line would break the redraw
        for name, (state, detail, started) in sorted(self._active.items()):
            text = f"  … {name} ({now - started:.0f}s): {state} {detail}"
            self.stream.write(text[:width] + "\n")
        self._drawn = len(self._active)
        self.stream.flush()
