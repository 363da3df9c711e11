"""The one way kfdeploy waits for something outside it (a cluster, a cloud operation).

``Poller`` repeats a check until it is done: ``until`` raises when the time is up (with a
progress line per round), ``poll`` hands back the last answer at a deadline for the caller to
judge, ``retry`` repeats a call while it fails with a transient error. Rounds start every
``interval`` seconds, growing by ``factor`` up to ``cap`` (a fast cluster answers at once, a slow
one is not asked ten times a second). Sleep and clock are injected: tests pass a fake clock, so no
test waits and none reads the wall clock. ``Clock`` is the same idea for the request retry loop
(``kube.retry``), with its jitter and the wall clock an HTTP date is read against.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from kfdeploy.errors import KfdeployError, PlatformError
from kfdeploy.progress import Progress

T = TypeVar("T")


@dataclass(frozen=True)
class Clock:
    """Time as a loop sees it; tests pass a fake one so nothing really sleeps."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    wall: Callable[[], float] = time.time  # seconds since the epoch, for HTTP dates


@dataclass(frozen=True)
class Poller:
    """Repeats a check, ``interval`` seconds apart at first (times ``factor`` per round, up to
    ``cap``); a timeout in ``until`` raises ``error`` with ``hint``."""

    sleep: Callable[[float], None]
    clock: Callable[[], float]
    interval: float
    error: type[KfdeployError] = PlatformError
    hint: str | None = None
    factor: float = 1.0
    cap: float | None = None

    @classmethod
    def real(cls, interval: float, *, factor: float = 1.0, cap: float | None = None) -> Poller:
        """A poller on the real monotonic clock."""
        return cls(time.sleep, time.monotonic, interval, factor=factor, cap=cap)

    def delays(self) -> Iterator[float]:
        """The pause before each next round."""
        delay = self.interval
        while True:
            yield delay
            delay = delay * self.factor if self.cap is None else min(self.cap, delay * self.factor)

    def until(self, fetch: Callable[[], T], done: Callable[[T], bool],
              label: str | Callable[[], str], timeout: float, progress: Progress,
              on_timeout: Callable[[T], KfdeployError] | None = None) -> T:
        """``fetch()`` until ``done``; one progress line with the elapsed time per round. At the
        timeout, raise ``on_timeout(last value)``, or ``error`` naming ``label``."""
        start = self.clock()
        pauses = self.delays()
        while True:
            value = fetch()
            if done(value):
                return value
            elapsed = self.clock() - start
            text = label() if callable(label) else label
            if elapsed >= timeout:
                if on_timeout is not None:
                    raise on_timeout(value)
                raise self.error(f"{text}: not done after {_duration(timeout)}", hint=self.hint)
            progress(f"{text} ... {elapsed:.0f}s")
            self.sleep(next(pauses))

    def poll(self, fetch: Callable[[], T], done: Callable[[T], bool], deadline: float) -> T:
        """``fetch()`` until ``done`` or the clock reaches ``deadline``; the last value either way."""
        pauses = self.delays()
        while True:
            value = fetch()
            if done(value) or self.clock() >= deadline:
                return value
            self.sleep(next(pauses))

    def retry(self, call: Callable[[], T], transient: Callable[[PlatformError], bool],
              timeout: float) -> T:
        """``call()`` again while it fails with a transient error, for up to ``timeout``."""
        start = self.clock()
        pauses = self.delays()
        while True:
            try:
                return call()
            except PlatformError as e:
                if not transient(e) or self.clock() - start >= timeout:
                    raise
            self.sleep(next(pauses))


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 120 else f"{seconds:.0f}s"
