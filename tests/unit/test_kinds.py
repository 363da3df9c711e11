"""The kind table: one row per (group, kind), every rule it names exists, and the stages read it
with the group (a custom ``Service`` kind is not the core Service)."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from kfdeploy import kinds
from kfdeploy.kinds import CUSTOM_RESOURCE, KINDS, Protection, rule_of
from kfdeploy.kube import health, immutable, prune, wait
from kfdeploy.kube.order import delete_order, kind_rank, sort_objects
from kfdeploy.render import process


def obj(api_version: str, kind: str, name: str = "x", ns: str | None = "ns", **spec: Any) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **({"spec": spec} if spec else {})}


KNATIVE_SERVICE = obj("serving.knative.dev/v1", "Service", "hello")
CORE_SERVICE = obj("v1", "Service", "hello")


def test_each_group_kind_has_one_row():
    keys = [r.group_kind for r in KINDS]
    assert len(keys) == len(set(keys))


def test_every_health_rule_the_table_names_exists_and_every_rule_is_named():
    named = {r.health for r in KINDS if r.health}
    assert named <= set(health.RULES), named - set(health.RULES)
    assert set(health.RULES) <= named | {CUSTOM_RESOURCE.health}, set(health.RULES) - named


def test_every_immutable_rule_set_the_table_names_exists_and_every_set_is_named():
    named = {r.immutable for r in KINDS if r.immutable}
    assert named == set(immutable.RULES), named ^ set(immutable.RULES)


def test_every_protection_is_enforced_by_prune():
    used = {r.protection for r in KINDS if r.protection}
    assert used == set(get_args(Protection)) - {""}
    assert used == set(prune.CHECKS) | {"data"}


def test_a_custom_service_kind_is_a_custom_resource_everywhere():
    assert rule_of(KNATIVE_SERVICE).group == "serving.knative.dev" and rule_of(CORE_SERVICE).group == ""
    assert rule_of(obj("example.com/v1", "Service")) == CUSTOM_RESOURCE
    assert kind_rank("Service", "serving.knative.dev/v1") != kind_rank("Service", "v1")
    assert wait.needs_polling(KNATIVE_SERVICE) and not wait.needs_polling(CORE_SERVICE)
    # No Ready condition yet: a Knative Service is not ready; a core ClusterIP Service is.
    assert health.assess(KNATIVE_SERVICE).status == "InProgress"
    assert health.assess(CORE_SERVICE).status == "Current"
    ready = {**KNATIVE_SERVICE, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert health.assess(ready).status == "Current"


@pytest.mark.parametrize("api_version,kind,scoped", [
    ("v1", "Namespace", True), ("rbac.authorization.k8s.io/v1", "ClusterRole", True),
    ("cert-manager.io/v1", "ClusterIssuer", True), ("v1", "ConfigMap", False),
    ("example.com/v1", "Namespace", False),  # a custom kind that reuses a built-in cluster-scoped name
], ids=["namespace", "clusterrole", "library-cr", "configmap", "custom-namespace-kind"])
def test_render_scopes_objects_by_group_and_kind(api_version: str, kind: str, scoped: bool):
    ctx = process.Context("app", "kubeflow")
    out = process.with_namespace(obj(api_version, kind, ns=None), ctx)
    assert ("namespace" not in out["metadata"]) == scoped


def test_apply_order_reads_ranks_with_the_group():
    objs = [obj("apps/v1", "Deployment"), KNATIVE_SERVICE, CORE_SERVICE, obj("v1", "Namespace", ns=None)]
    assert [(o["apiVersion"], o["kind"]) for o in sort_objects(objs)] == [
        ("v1", "Namespace"), ("v1", "Service"), ("serving.knative.dev/v1", "Service"), ("apps/v1", "Deployment")]
    assert [o["kind"] for o in delete_order(objs)][-1] == "Namespace"


def test_pod_templates_are_found_by_the_tables_path():
    cron = obj("batch/v1", "CronJob", jobTemplate={"spec": {"template": {"metadata": {"labels": {"a": "b"}}}}})
    assert kinds.pod_template(cron) == {"metadata": {"labels": {"a": "b"}}}
    pod = obj("v1", "Pod")
    assert kinds.pod_template(pod) is pod
    assert kinds.pod_template(obj("v1", "ConfigMap")) is None
