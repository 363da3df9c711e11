"""Riding out API faults: which failed requests are worth repeating, and for how long.

The API server answers 429 when it sheds load (with ``Retry-After``), 5xx while it or etcd
restarts, and nothing at all while it is down. Repeating a request is safe when it is idempotent:
reads, deletes (a repeat finds 404) and server-side apply patches (the same patch gives the same
object). Any other write (a create, a merge patch) is repeated only when the server provably did
not process it: a 429, or a connection that was never made.

Waits grow exponentially up to a cap, with full jitter so parallel appliers do not retry in step.
A request retries for its own budget, or until the deadline of the application in flight
(``deadline``), whichever comes first; then the last error is raised, saying what was tried.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import urllib3.exceptions

from kfdeploy.kube.transport import HttpError
from kfdeploy.poll import Clock

T = TypeVar("T")

# Request shapes that give the same result however often they are sent.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
APPLY_PATCH = "application/apply-patch+yaml"
# Statuses that say "not now": the server restarting, overloaded, or a proxy in front of it.
UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Fault:
    """A failure worth repeating the request for: what it was, and what the server asked."""

    what: str
    retry_after: float | None = None
    bounded: bool = False  # True: at most ``server_error_attempts``; else until budget or deadline


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter.

    ``budget`` bounds the retrying of one request when no application deadline applies;
    ``server_error_attempts`` bounds a plain 500, which is often a deterministic failure (a
    webhook that rejects, a bug) rather than a restart."""

    base: float = 0.25
    cap: float = 8.0
    budget: float = 120.0
    server_error_attempts: int = 5
    clock: Clock = field(default_factory=Clock)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1); a
        ``Retry-After`` from the server is honoured as the lower bound, capped like the rest."""
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        wait = ceiling * self.clock.jitter()
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(budget=0.0, server_error_attempts=1)

# The deadline of the application being applied in this context: (monotonic time, what it is).
_DEADLINE: ContextVar[tuple[float, str] | None] = ContextVar("kfdeploy_deadline", default=None)


@contextlib.contextmanager
def deadline(at: float, what: str) -> Iterator[None]:
    """Requests made inside stop retrying at ``at`` (a ``Clock.now`` time); ``what`` names the
    work for the error (``application pipelines``)."""
    token = _DEADLINE.set((at, what))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current_deadline() -> tuple[float, str] | None:
    return _DEADLINE.get()


def bounded_timeout(timeout: float, clock: Clock) -> float:
    """A request's own timeout, cut to what is left of the deadline in flight (at least 1s), so
    a server that accepts connections but never answers cannot outlast the deadline."""
    bound = current_deadline()
    return timeout if bound is None else max(1.0, min(timeout, bound[0] - clock.now()))


class GaveUp(Exception):  # noqa: N818 - internal signal, never shown to the user
    """Retrying stopped: ``error`` is the last failure, ``summary`` says how long and why."""

    def __init__(self, error: BaseException, summary: str) -> None:
        super().__init__(summary)
        self.error = error
        self.summary = summary


def fault(error: BaseException, method: str, content_type: str | None, wall_now: float) -> Fault | None:
    """The fault to retry for, or None when ``error`` must reach the caller at once; ``wall_now``
    (seconds since the epoch) reads a ``Retry-After`` date."""
    idempotent = method in IDEMPOTENT_METHODS or (method == "PATCH" and content_type == APPLY_PATCH)
    if isinstance(error, HttpError):
        status = error.status or 0
        if status == 429:  # rejected before any processing: safe for every method
            return Fault("HTTP 429 Too Many Requests", retry_after_seconds(error.headers, wall_now))
        if not idempotent:
            return None
        if status in UNAVAILABLE_STATUSES:
            return Fault(f"HTTP {status} {error.reason or ''}".strip(), retry_after_seconds(error.headers, wall_now))
        if status >= 500:
            return Fault(f"HTTP {status} {error.reason or ''}".strip(), bounded=True)
        return None
    if isinstance(error, urllib3.exceptions.NewConnectionError):  # never reached the server
        return Fault(f"connection failed ({_reason(error)})")
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
        return Fault("connection timed out")
    if isinstance(error, (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError,
                          ConnectionError)) and idempotent:
        return Fault(f"connection lost ({_reason(error)})")
    return None


def _reason(error: BaseException) -> str:
    text = str(error.args[-1] if error.args else error)
    return text.rsplit(": ", 1)[-1][:120] or type(error).__name__


def retry_after_seconds(headers: Any, wall_now: float) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (counted from ``wall_now``, seconds
    since the epoch); None when absent or unreadable."""
    value = headers.get("Retry-After") if headers else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - wall_now)


def call_with_retry(send: Callable[[], T], method: str, content_type: str | None,
                    policy: RetryPolicy) -> T:
    """``send()`` until it succeeds, fails for good, or the budget or deadline runs out (then
    ``GaveUp`` carries the last error)."""
    clock = policy.clock
    start = clock.now()
    stop, what = start + policy.budget, ""
    bound = current_deadline()
    if bound is not None and bound[0] < stop:
        stop, what = bound
    attempt = 0
    while True:
        attempt += 1
        try:
            return send()
        except Exception as error:  # noqa: BLE001 - classified below; unknown ones re-raised
            found = fault(error, method, content_type, clock.wall())
            if found is None:
                raise
            wait = policy.delay(attempt, found.retry_after)
            spent = clock.now() - start
            if (found.bounded and attempt >= policy.server_error_attempts) or clock.now() + wait > stop:
                raise GaveUp(error, _summary(found, attempt, spent, what)) from error
            clock.sleep(wait)


def _summary(found: Fault, attempts: int, spent: float, what: str) -> str:
    tried = f"{found.what}, {attempts} attempt(s) over {spent:.0f}s"
    return f"{tried}; the deadline of {what} passed" if what else tried
