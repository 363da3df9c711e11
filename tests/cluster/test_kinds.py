"""The kind table against the real API server: kinds are matched with their group, and the
table's facts about built-in kinds are the server's."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from kfdeploy.kinds import KINDS
from kfdeploy.kube.client import Cluster

from .test_engine import converge, labelled, unique

KNATIVE = "serving.knative.dev"  # Knative's group (the library installs no Knative, so no clash)


@pytest.fixture()
def kube(cluster: Any) -> Cluster:
    return Cluster.connect(cluster.kubeconfig, cluster.context)


def service_crd(app: str) -> dict[str, Any]:
    """A CRD whose kind is ``Service`` in another group, with a status subresource, as Knative's."""
    return labelled({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                     "metadata": {"name": f"services.{KNATIVE}"},
                     "spec": {"group": KNATIVE, "scope": "Namespaced",
                              "names": {"kind": "Service", "plural": "services", "singular": "service",
                                        "listKind": "ServiceList", "shortNames": ["ksvc-test"]},
                              "versions": [{"name": "v1", "served": True, "storage": True,
                                            "subresources": {"status": {}},
                                            "schema": {"openAPIV3Schema": {
                                                "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}},
                    app)


def knative_service(name: str, ns: str, app: str) -> dict[str, Any]:
    # No spec.type and no status: taken for a core Service, or judged by the generic chain, it
    # would be "ready" at once.
    return labelled({"apiVersion": f"{KNATIVE}/v1", "kind": "Service",
                     "metadata": {"name": name, "namespace": ns},
                     "spec": {"template": {"spec": {"containers": [{"image": "registry.k8s.io/pause:3.10"}]}}}},
                    app)


def set_ready(kube: Cluster, ns: str, name: str, status: str) -> None:
    path = f"/apis/{KNATIVE}/v1/namespaces/{ns}/services/{name}/status"
    live = kube.call("GET", path)
    live["status"] = {"conditions": [{"type": "Ready", "status": status, "reason": "Test",
                                      "message": f"set to {status} by the test"}]}
    kube.call("PUT", path, body=live, content_type="application/json")


def test_a_custom_service_kind_is_waited_on_by_its_ready_condition(kube: Cluster, namespace: str):
    app = unique("ksvc")
    objs = [service_crd(app), knative_service("hello", namespace, app)]
    try:
        _waited_on_by_ready(kube, namespace, app, objs)
    finally:
        kube.delete(service_crd(app))


def _waited_on_by_ready(kube: Cluster, namespace: str, app: str, objs: list[dict[str, Any]]) -> None:
    # Nothing sets Ready: the apply waits for it and fails at the deadline, naming the condition.
    failed = converge(kube, app, [(app, objs, [])], timeout=6)[app]
    assert failed.outcome == "failed"
    assert any(u.object == f"Service.serving.knative.dev/{namespace}/hello" and "not Ready" in u.reason
               for u in failed.unhealthy), \
        failed.unhealthy
    set_ready(kube, namespace, "hello", "False")  # still not Ready: still waited on
    assert converge(kube, app, [(app, objs, [])], timeout=4)[app].outcome == "failed"

    # Ready=True arrives while the engine waits: the apply succeeds then, not before.
    became_ready = threading.Event()

    def ready_later() -> None:
        time.sleep(2)
        set_ready(kube, namespace, "hello", "True")
        became_ready.set()

    threading.Thread(target=ready_later, daemon=True).start()
    result = converge(kube, app, [(app, objs, [])], timeout=60)[app]
    assert result.outcome in ("applied", "unchanged") and not result.unhealthy, result.error
    assert became_ready.is_set(), "the apply finished before the Service was Ready"


def test_the_tables_plurals_and_scopes_are_the_servers(kube: Cluster):
    served = {(r.group, r.kind): r for r in kube.resources().values()}
    checked = 0
    for rule in KINDS:
        res = served.get(rule.group_kind)
        if res is None:
            continue  # not served here (a custom resource of the library, metrics, ...)
        assert res.plural == rule.plural, rule
        assert res.namespaced == (rule.scope == "Namespaced"), rule
        checked += 1
    assert checked >= 35, f"only {checked} rows were checked against discovery"
