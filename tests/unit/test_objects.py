"""One name per object: identity (group, kind, namespace, name), one display, one sort key."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.kube_api import FakeCluster

from kfdeploy.kinds import KINDS
from kfdeploy.kube.engine import ApplyOptions, AppResult, Engine
from kfdeploy.kube.health import Health
from kfdeploy.kube.wait import WaitOutcome
from kfdeploy.objects import describe, describe_key, object_key, sort_key

CORE_SERVICE = ("", "Service", "team", "hello")
KNATIVE_SERVICE = ("serving.knative.dev", "Service", "team", "hello")


def obj(api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


@pytest.mark.parametrize("o,key,text", [
    (obj("apps/v1", "Deployment", "api", "kf"), ("apps", "Deployment", "kf", "api"), "Deployment/kf/api"),
    (obj("v1", "Namespace", "kf"), ("", "Namespace", "", "kf"), "Namespace/kf"),
    (obj("serving.knative.dev/v1", "Service", "hello", "team"), KNATIVE_SERVICE, "Service.serving.knative.dev/team/hello"),
    (obj("kubeflow.org/v1", "Profile", "alice"), ("kubeflow.org", "Profile", "", "alice"), "Profile.kubeflow.org/alice"),
    (obj("events.k8s.io/v1", "Event", "e", "kf"), ("events.k8s.io", "Event", "kf", "e"), "Event.events.k8s.io/kf/e"),
    (obj("v1", "Event", "e", "kf"), ("", "Event", "kf", "e"), "Event/kf/e"),
    ({"kind": "ConfigMap"}, ("", "ConfigMap", "", ""), "ConfigMap/?"),
    ({}, ("", "", "", ""), "?/?"),
], ids=["built-in", "cluster-scoped", "custom-service", "custom-cluster-scoped", "events-group-event",
        "core-event", "missing-fields", "nothing"])
def test_identity_and_display(o: dict[str, Any], key: tuple[str, ...], text: str) -> None:
    assert object_key(o) == key
    assert describe(o) == text


def test_no_two_kinds_of_the_table_display_alike() -> None:
    shown = [describe_key((r.group, r.kind, "ns", "x")) for r in KINDS]
    assert len(set(shown)) == len(shown), sorted(s for s in shown if shown.count(s) > 1)


def test_a_custom_kind_named_like_a_built_in_one_displays_its_group() -> None:
    assert describe_key(KNATIVE_SERVICE) != describe_key(CORE_SERVICE)
    assert sort_key(obj("serving.knative.dev/v1", "Service", "a")) > sort_key(obj("v1", "Service", "a"))


def test_a_failed_wait_keeps_two_kinds_of_one_name_apart() -> None:
    # A Knative Service and a core Service of the same namespace and name are two objects: each
    # is reported once, under its own display, with its own events.
    outcome = WaitOutcome({KNATIVE_SERVICE: Health("InProgress", "not Ready"),
                           CORE_SERVICE: Health("InProgress", "waiting for a load balancer address")})
    result = AppResult("serving", "applied")
    Engine(FakeCluster(), "demo", "h", ApplyOptions())._fail(result, outcome)
    reported = {u["object"]: u["reason"] for u in result.to_data()["unhealthy"]}
    assert reported == {"Service/team/hello": "waiting for a load balancer address",
                        "Service.serving.knative.dev/team/hello": "not Ready"}
