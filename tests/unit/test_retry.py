"""The retry policy of the cluster client, with a fake clock and faults injected where the
client meets its transport: which failures are repeated, for which requests, how long it waits,
and what the error says when it gives up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import urllib3.exceptions

from kfdeploy.errors import PlatformError
from kfdeploy.kube.client import Cluster, KubeApiError
from kfdeploy.kube.retry import APPLY_PATCH, Clock, GaveUp, RetryPolicy, call_with_retry, deadline
from kfdeploy.kube.transport import HttpError


@dataclass
class FakeTime:
    """A clock that only moves when slept on; records every sleep."""

    now: float = 1000.0
    wall: float = 1_750_000_000.0  # seconds since the epoch, for Retry-After dates
    sleeps: list[float] = field(default_factory=list)
    jitter: float = 1.0  # the top of each jitter range, so waits are predictable

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> Clock:
        return Clock(now=lambda: self.now, sleep=self.sleep, jitter=lambda: self.jitter,
                     wall=lambda: self.wall + self.now)


def api_error(status: int, retry_after: str | None = None) -> HttpError:
    return HttpError(status=status, reason={429: "Too Many Requests", 500: "Internal Server Error",
                                            503: "Service Unavailable"}.get(status, "Error"),
                     headers={"Retry-After": retry_after} if retry_after is not None else {},
                     body='{"kind": "Status", "message": "injected", "reason": "Injected"}')


def refused() -> Exception:
    return urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]


def reset() -> Exception:
    return urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))


class Faulty:
    """``send`` that raises the given faults in turn, then answers ``ok``."""

    def __init__(self, *faults: Exception) -> None:
        self.faults = list(faults)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.faults:
            raise self.faults.pop(0)
        return "ok"


FAULTS = {
    "429": lambda: api_error(429),
    "502": lambda: api_error(502),
    "503": lambda: api_error(503),
    "504": lambda: api_error(504),
    "500": lambda: api_error(500),
    "refused": refused,
    "reset": reset,
    "read-timeout": lambda: urllib3.exceptions.ReadTimeoutError(None, "/api", "Read timed out."),  # type: ignore[arg-type]
    "400": lambda: api_error(400),
    "403": lambda: api_error(403),
    "404": lambda: api_error(404),
    "409": lambda: api_error(409),
    "422": lambda: api_error(422),
}
REQUESTS = {"GET": ("GET", None), "DELETE": ("DELETE", None), "SSA": ("PATCH", APPLY_PATCH),
            "merge-patch": ("PATCH", "application/merge-patch+json"), "POST": ("POST", "application/json")}
# Which (fault, request) pairs are repeated: the contract of the policy, written out.
RETRIED = {
    "GET": {"429", "502", "503", "504", "500", "refused", "reset", "read-timeout"},
    "DELETE": {"429", "502", "503", "504", "500", "refused", "reset", "read-timeout"},
    "SSA": {"429", "502", "503", "504", "500", "refused", "reset", "read-timeout"},
    "merge-patch": {"429", "refused"},  # processed or not? only these say "not"
    "POST": {"429", "refused"},
}


@pytest.mark.parametrize("request_name", sorted(REQUESTS))
@pytest.mark.parametrize("fault_name", sorted(FAULTS))
def test_which_faults_are_retried_for_which_requests(request_name: str, fault_name: str) -> None:
    time = FakeTime()
    send = Faulty(FAULTS[fault_name]())
    method, content_type = REQUESTS[request_name]
    policy = RetryPolicy(clock=time.clock())
    if fault_name in RETRIED[request_name]:
        assert call_with_retry(send, method, content_type, policy) == "ok"
        assert send.calls == 2
        assert len(time.sleeps) == 1
    else:
        with pytest.raises(type(send.faults[0])):
            call_with_retry(send, method, content_type, policy)
        assert send.calls == 1
        assert time.sleeps == []


def test_waits_grow_exponentially_up_to_the_cap() -> None:
    time = FakeTime()
    policy = RetryPolicy(base=0.5, cap=4.0, budget=1000, clock=time.clock())
    send = Faulty(*[api_error(503) for _ in range(7)])
    assert call_with_retry(send, "GET", None, policy) == "ok"
    assert len(time.sleeps) == 7
    assert all(b >= a for a, b in zip(time.sleeps, time.sleeps[1:], strict=False))
    assert time.sleeps[0] == pytest.approx(0.5)
    assert max(time.sleeps) == pytest.approx(4.0)
    assert time.sleeps[-3:] == [pytest.approx(4.0)] * 3


def test_jitter_spreads_each_wait_below_its_ceiling() -> None:
    time = FakeTime(jitter=0.25)
    policy = RetryPolicy(base=1.0, cap=100.0, clock=time.clock())
    call_with_retry(Faulty(refused(), refused(), refused()), "GET", None, policy)
    assert time.sleeps == [pytest.approx(0.25), pytest.approx(0.5), pytest.approx(1.0)]


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), ("120", 8.0)],
                         ids=["seconds", "zero", "capped"])
def test_retry_after_is_honoured_as_the_least_wait(header: str, expected: float) -> None:
    time = FakeTime(jitter=0.0)  # the jitter alone would not wait at all
    policy = RetryPolicy(base=0.25, cap=8.0, clock=time.clock())
    assert call_with_retry(Faulty(api_error(429, header)), "POST", "application/json", policy) == "ok"
    assert time.sleeps == [pytest.approx(expected)]


def test_retry_after_as_an_http_date_is_understood() -> None:
    from email.utils import formatdate
    time = FakeTime(jitter=0.0)
    header = formatdate(time.wall + time.now + 5, usegmt=True)
    call_with_retry(Faulty(api_error(429, header)), "GET", None, RetryPolicy(clock=time.clock()))
    assert time.sleeps == [pytest.approx(5.0)]


def test_a_plain_500_is_tried_a_bounded_number_of_times() -> None:
    time = FakeTime()
    send = Faulty(*[api_error(500) for _ in range(50)])
    with pytest.raises(GaveUp) as info:
        call_with_retry(send, "GET", None, RetryPolicy(server_error_attempts=4, budget=1e6, clock=time.clock()))
    assert send.calls == 4
    assert "4 attempt(s)" in info.value.summary
    assert isinstance(info.value.error, HttpError)


def test_an_outage_longer_than_the_budget_gives_up_within_it() -> None:
    time = FakeTime()
    send = Faulty(*[refused() for _ in range(1000)])
    start = time.now
    with pytest.raises(GaveUp) as info:
        call_with_retry(send, "GET", None, RetryPolicy(budget=30, clock=time.clock()))
    assert time.now - start <= 30
    assert send.calls > 3
    assert "connection failed" in info.value.summary and "Connection refused" in info.value.summary


def test_an_outage_shorter_than_the_budget_is_ridden_out() -> None:
    time = FakeTime()
    send = Faulty(*[refused() for _ in range(10)], reset(), api_error(503))  # down, then starting
    assert call_with_retry(send, "PATCH", APPLY_PATCH, RetryPolicy(budget=120, clock=time.clock())) == "ok"
    assert send.calls == 13


def test_the_application_deadline_stops_retrying_and_is_named() -> None:
    time = FakeTime()
    send = Faulty(*[api_error(503) for _ in range(1000)])
    with deadline(time.now + 10, "application pipelines"), pytest.raises(GaveUp) as info:
        call_with_retry(send, "GET", None, RetryPolicy(budget=600, clock=time.clock()))
    assert time.now <= 1000.0 + 10
    assert "application pipelines" in info.value.summary


def test_the_budget_wins_over_a_later_deadline() -> None:
    time = FakeTime()
    with deadline(time.now + 10_000, "application slow"), pytest.raises(GaveUp) as info:
        call_with_retry(Faulty(*[refused() for _ in range(1000)]), "GET", None,
                        RetryPolicy(budget=20, clock=time.clock()))
    assert time.now <= 1000.0 + 20
    assert "application slow" not in info.value.summary


# --- through the cluster client --------------------------------------------------------------


class Response:
    def __init__(self, data: bytes) -> None:
        self.data = data


class FakeTransport:
    """Stands in for kfdeploy.kube.transport below ``Cluster``: faults, then JSON."""

    def __init__(self, *faults: Exception) -> None:
        self.send = Faulty(*faults)

    def call_api(self, *args: Any, **kwargs: Any) -> Response:
        self.send()
        return Response(b'{"kind": "Namespace", "metadata": {"name": "x"}}')

    def close(self) -> None:
        pass


def test_the_client_counts_every_attempt_and_returns_the_answer() -> None:
    time = FakeTime()
    transport = FakeTransport(refused(), api_error(503))
    cluster = Cluster(transport, "test", RetryPolicy(clock=time.clock()))  # type: ignore[arg-type]
    assert cluster.call("GET", "/api/v1/namespaces/x")["metadata"]["name"] == "x"
    assert cluster.requests == 3
    assert cluster.retries == 2  # the first attempt is no retry
    cluster.call("GET", "/api/v1/namespaces/x")
    assert (cluster.requests, cluster.retries) == (4, 2)


def test_a_lost_connection_error_names_the_request_and_the_retries() -> None:
    time = FakeTime()
    cluster = Cluster(FakeTransport(*[refused() for _ in range(100)]), "kwok:ctx",  # type: ignore[arg-type]
                      RetryPolicy(budget=5, clock=time.clock()))
    with deadline(time.now + 3, "application demo"), pytest.raises(PlatformError) as info:
        cluster.call("PATCH", "/api/v1/namespaces/d/configmaps/c", content_type=APPLY_PATCH)
    text = str(info.value)
    assert "PATCH /api/v1/namespaces/d/configmaps/c" in text
    assert "application demo" in text and "attempt(s)" in text
    assert isinstance(info.value.__cause__, urllib3.exceptions.NewConnectionError)


def test_an_http_error_after_retries_keeps_its_status() -> None:
    time = FakeTime()
    cluster = Cluster(FakeTransport(*[api_error(503) for _ in range(100)]), "t",  # type: ignore[arg-type]
                      RetryPolicy(budget=5, clock=time.clock()))
    with pytest.raises(KubeApiError) as info:
        cluster.call("GET", "/api/v1/pods")
    assert info.value.status == 503
    assert "retried" in info.value.message and "GET /api/v1/pods" in info.value.message


def test_a_create_is_not_repeated_after_a_reset() -> None:
    time = FakeTime()
    transport = FakeTransport(reset())
    cluster = Cluster(transport, "t", RetryPolicy(clock=time.clock()))  # type: ignore[arg-type]
    with pytest.raises(PlatformError):
        cluster.call("POST", "/api/v1/namespaces", body={}, content_type="application/json")
    assert transport.send.calls == 1
