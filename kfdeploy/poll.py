"""The one way kfdeploy waits for something outside it: ``Poller`` repeats a check until it is
done, with a progress line per round; sleep and clock are injected, so tests never wait."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kfdeploy.errors import KfdeployError, PlatformError

T = TypeVar("T")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Poller:
    """Repeats a check every ``interval`` seconds; a timeout raises ``error`` with ``hint``."""

    sleep: Callable[[float], None]
    clock: Callable[[], float]
    interval: float
    error: type[KfdeployError] = PlatformError
    hint: str | None = None

    def until(self, fetch: Callable[[], T], done: Callable[[T], bool],
              label: str | Callable[[], str], timeout: float, progress: Progress) -> T:
        """``fetch()`` until ``done``; one progress line with the elapsed time per poll."""
        start = self.clock()
        while True:
            value = fetch()
            if done(value):
                return value
            elapsed = self.clock() - start
            text = label() if callable(label) else label
            if elapsed >= timeout:
                raise self.error(f"{text}: not done after {_duration(timeout)}", hint=self.hint)
            progress(f"{text} ... {elapsed:.0f}s")
            self.sleep(self.interval)

    def retry(self, call: Callable[[], T], transient: Callable[[PlatformError], bool],
              timeout: float) -> T:
        """``call()`` again while it fails with a transient error, for up to ``timeout``."""
        start = self.clock()
        while True:
            try:
                return call()
            except PlatformError as e:
                if not transient(e) or self.clock() - start >= timeout:
                    raise
            self.sleep(self.interval)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 120 else f"{seconds:.0f}s"
