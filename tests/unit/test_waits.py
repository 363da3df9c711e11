"""Every wait on a fake clock: the ``Poller`` itself, the cluster waits (health, CRDs, endpoints,
a recreate's delete) against the fake cluster client, and the kwok platform's readiness wait.
The clock moves only when a wait sleeps, and the cluster changes between rounds, so each test
sees how many rounds a wait takes and what it hands back at its deadline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fakes.kube_api import FakeCluster, Kind

from kfdeploy.errors import ApplyError, PlatformError
from kfdeploy.kube import recreate
from kfdeploy.kube.wait import POLLER, wait_endpoints, wait_established, wait_healthy
from kfdeploy.labels import APPLICATION, PART_OF
from kfdeploy.platforms import _kube
from kfdeploy.poll import Poller

SET = "set-1"
ENDPOINT_SLICE = Kind("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices")


@dataclass
class FakeTime:
    """A clock that moves only when slept on; ``on_sleep`` changes the world between rounds."""

    now: float = 100.0
    sleeps: list[float] = field(default_factory=list)
    on_sleep: Callable[[int], None] = lambda rounds: None

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep(len(self.sleeps))

    def poller(self, interval: float = 1.0, **kw: Any) -> Poller:
        return Poller(self.sleep, lambda: self.now, interval, **kw)


def deployment(ready: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "team", "generation": 1,
                         "labels": {PART_OF: SET, APPLICATION: "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}}},
            "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": ready,
                       "updatedReplicas": 1, "availableReplicas": ready}}


def crd(established: bool) -> dict[str, Any]:
    status = "True" if established else "False"
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.example.com", "labels": {PART_OF: SET, APPLICATION: "gadgets"}},
            "spec": {"group": "example.com", "names": {"kind": "Gadget", "plural": "gadgets"}},
            "status": {"conditions": [{"type": "Established", "status": status}]}}


# --- the Poller ---------------------------------------------------------------------------------


def test_rounds_back_off_by_the_factor_up_to_the_cap() -> None:
    delays = POLLER.delays()
    assert [round(next(delays), 3) for _ in range(6)] == [0.25, 0.4, 0.64, 1.0, 1.0, 1.0]


def test_poll_returns_once_done_without_sleeping_more() -> None:
    time = FakeTime()
    answers = iter([False, False, True])
    assert time.poller().poll(lambda: next(answers), bool, deadline=time.now + 60) is True
    assert time.sleeps == [1.0, 1.0]


def test_poll_hands_back_the_last_answer_at_the_deadline() -> None:
    time = FakeTime()
    assert time.poller(interval=2.0).poll(lambda: time.now, lambda _: False, deadline=time.now + 5) == 106.0
    assert time.sleeps == [2.0, 2.0, 2.0]


def test_until_raises_the_callers_error_with_the_last_answer() -> None:
    time = FakeTime()
    lines: list[str] = []
    with pytest.raises(PlatformError, match="still PROVISIONING"):
        time.poller(interval=10.0).until(lambda: "PROVISIONING", lambda s: s == "RUNNING", "creating", 30,
                                         lines.append, on_timeout=lambda s: PlatformError(f"still {s}"))
    assert lines == ["creating ... 0s", "creating ... 10s", "creating ... 20s"]


def test_until_names_the_label_and_the_timeout_by_default() -> None:
    time = FakeTime()
    with pytest.raises(PlatformError, match="node group gpu: not done after 30s"):
        time.poller(interval=10.0).until(lambda: 0, bool, "node group gpu", 30, lambda _: None)


# --- cluster waits ----------------------------------------------------------------------------


def test_wait_healthy_polls_until_the_deployment_is_ready() -> None:
    fake = FakeCluster()
    fake.add(deployment(ready=0))
    time = FakeTime(on_sleep=lambda rounds: fake.add(deployment(ready=1)) if rounds == 3 else None)
    rounds: list[bool] = []
    outcome = wait_healthy(fake, "web", SET, [deployment(ready=0)], deadline=time.now + 60,
                           on_round=lambda o: rounds.append(o.ok), poller=time.poller(interval=0.5))
    assert outcome.ok and rounds == [False, False, False, True]
    assert time.sleeps == [0.5, 0.5, 0.5]


def test_wait_healthy_at_its_deadline_names_what_is_pending_and_why() -> None:
    fake = FakeCluster()
    fake.add(deployment(ready=0))
    time = FakeTime()
    outcome = wait_healthy(fake, "web", SET, [deployment(ready=0)], deadline=time.now + 3,
                           poller=time.poller())
    assert not outcome.ok
    [(key, why)] = outcome.pending
    assert key == ("apps", "Deployment", "team", "web") and why.startswith("Ready 0/1")
    assert time.now == 103.0


def test_wait_established_refreshes_discovery_once_every_crd_is_established() -> None:
    fake = FakeCluster()
    fake.add(crd(established=False))
    refreshed: list[bool] = []
    fake.refresh_discovery = lambda: refreshed.append(True)  # type: ignore[method-assign]
    time = FakeTime(on_sleep=lambda rounds: fake.add(crd(established=True)) if rounds == 2 else None)
    assert wait_established(fake, [crd(False)], deadline=time.now + 60, poller=time.poller(0.1)) == []
    assert refreshed == [True] and len(time.sleeps) == 2


def test_wait_established_says_which_crd_is_late() -> None:
    fake = FakeCluster()
    fake.add(crd(established=False))
    time = FakeTime()
    late = wait_established(fake, [crd(False)], deadline=time.now + 2, poller=time.poller())
    assert late == ["gadgets.example.com (not Established before the timeout)"]


def test_wait_endpoints_returns_the_services_that_never_got_one() -> None:
    fake = FakeCluster()
    fake.add_kind(ENDPOINT_SLICE)
    ready = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": "hook-1", "namespace": "team", "labels": {"kubernetes.io/service-name": "hook"}},
             "endpoints": [{"conditions": {"ready": True}}]}
    time = FakeTime(on_sleep=lambda rounds: fake.add(ready) if rounds == 1 else None)
    services = [("", "Service", "team", "hook"), ("", "Service", "team", "never")]
    assert wait_endpoints(fake, services, deadline=time.now + 5, poller=time.poller()) == ["Service/team/never"]


def test_a_recreate_waits_until_the_old_object_is_gone_and_fails_at_its_deadline() -> None:
    fake = FakeCluster()
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team", "uid": "1"}}
    fake.add(old)
    fake.delete = lambda obj, propagation=None: 1  # type: ignore[method-assign,assignment]  # a finalizer holds it
    time = FakeTime()
    with pytest.raises(ApplyError, match="ConfigMap/team/c: still there after its delete"):
        recreate.remove(fake, old, deadline=time.now + 3, poller=time.poller())
    time = FakeTime(on_sleep=lambda rounds: fake.objects.clear())
    assert recreate.remove(fake, old, deadline=time.now + 3, poller=time.poller()).orphans == []


def test_the_kwok_readiness_wait_gives_up_at_its_timeout() -> None:
    time = FakeTime()
    answers = iter([False, False, True])
    assert _kube.wait_until(lambda: next(answers), 10, time.poller()) is True
    assert _kube.wait_until(lambda: False, 3, time.poller()) is False


def test_a_metadata_only_list_of_nothing_is_an_empty_page() -> None:
    # The API server answers a metadata-only LIST with no items with "items": null.
    class Empty(FakeCluster):
        def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
            return {"kind": "PartialObjectMetadataList", "items": None, "metadata": None}

    assert list(Empty().pages("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")) == []
