"""The label policy's cluster-side rules, as pure functions: label selectors, finding a
workload's pods by its selector, and the way installs of earlier versions are read and kept
applicable (legacy application label, labels kept on immutable Job templates)."""

from __future__ import annotations

from typing import Any

import pytest

from kfdeploy.kube.inventory import stamp
from kfdeploy.kube.live import LiveIndex
from kfdeploy.kube.migrate import keep_template_labels
from kfdeploy.kube.plan import desired_changes, prune_candidates
from kfdeploy.kube.wait import pods_of
from kfdeploy.labels import APPLICATION, LEGACY_APPLICATION, application_of
from kfdeploy.selectors import matches

LABELS = {"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"}
SELECTORS = [
    ("match-labels", {"matchLabels": {"app.kubernetes.io/component": "controller"}}, True),
    ("match-labels-other-value", {"matchLabels": {"app.kubernetes.io/component": "webhook"}}, False),
    ("in", {"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                                  "values": ["webhook", "controller"]}]}, True),
    ("not-in", {"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "NotIn",
                                      "values": ["controller"]}]}, False),
    ("not-in-absent-key", {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["x"]}]}, True),
    ("exists", {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "Exists"}]}, True),
    ("does-not-exist", {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "DoesNotExist"}]}, False),
    ("both-must-hold", {"matchLabels": {"app.kubernetes.io/name": "cert-manager"}, "matchExpressions": [
        {"key": "app.kubernetes.io/component", "operator": "In", "values": ["webhook"]}]}, False),
    ("empty-selects-all", {}, True),
    ("none-selects-nothing", None, False),
    ("unknown-operator", {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, False),
]


@pytest.mark.parametrize("selector,expected", [r[1:] for r in SELECTORS], ids=[r[0] for r in SELECTORS])
def test_selector_matches(selector: dict[str, Any] | None, expected: bool) -> None:
    assert matches(selector, LABELS) is expected


def pod(name: str, ns: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels}}


def test_pods_found_by_the_workloads_own_selector_not_by_our_labels() -> None:
    controller = {"kind": "Deployment", "metadata": {"name": "cm", "namespace": "cert-manager"},
                  "spec": {"selector": {"matchLabels": {"app.kubernetes.io/component": "controller"}}}}
    pods = [pod("a", "cert-manager", **{"app.kubernetes.io/component": "controller"}),
            pod("b", "cert-manager", **{"app.kubernetes.io/component": "webhook"}),
            pod("c", "elsewhere", **{"app.kubernetes.io/component": "controller"}),
            pod("d", "cert-manager", **{APPLICATION: "cert-manager"})]
    assert [p["metadata"]["name"] for p in pods_of(controller, pods)] == ["a"]


def test_job_pods_found_by_the_selector_the_server_generated() -> None:
    live_job = {"kind": "Job", "metadata": {"name": "j", "namespace": "n"},
                "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}}}
    pods = [pod("mine", "n", **{"batch.kubernetes.io/controller-uid": "u1"}),
            pod("other", "n", **{"batch.kubernetes.io/controller-uid": "u2"})]
    assert [p["metadata"]["name"] for p in pods_of(live_job, pods)] == ["mine"]
    assert pods_of({**live_job, "spec": {}}, pods) == []  # a desired Job has no selector yet


def cm(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "kubeflow",
                                                                  "labels": labels}}


def test_objects_of_earlier_versions_belong_to_their_application_by_the_legacy_label() -> None:
    assert application_of(cm("old", {LEGACY_APPLICATION: "katib"})) == "katib"
    assert application_of(cm("new", {APPLICATION: "katib", LEGACY_APPLICATION: "controller"})) == "katib"
    assert application_of(cm("none", {})) == ""
    live = LiveIndex([stamp(cm("old", {LEGACY_APPLICATION: "katib"}), "s")])
    assert [o["metadata"]["name"] for o in prune_candidates("katib", [], live, None)] == ["old"]
    assert set(live.applications()) == {"katib"}


# -- immutable Job templates that earlier versions labelled -----------------------------------

OLD_TEMPLATE_LABELS = {"app.kubernetes.io/name": "cert-job", LEGACY_APPLICATION: "katib",
                       "app.kubernetes.io/managed-by": "kfdeploy",
                       "batch.kubernetes.io/controller-uid": "u1"}


def live_job(owned: list[str]) -> dict[str, Any]:
    fields = {"f:spec": {"f:template": {"f:metadata": {"f:labels": {f"f:{k}": {} for k in owned}}}}}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "cert-job", "namespace": "kubeflow", "labels": {},
                         "annotations": {"kfdeploy.io/hash": "old"},
                         "managedFields": [{"manager": "kfdeploy", "operation": "Apply", "fieldsV1": fields},
                                           {"manager": "someone", "operation": "Update", "fieldsV1": {}}]},
            "spec": {"template": {"metadata": {"labels": dict(OLD_TEMPLATE_LABELS)}, "spec": {}}}}


def desired_job(**template_labels: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "cert-job", "namespace": "kubeflow"},
            "spec": {"template": {"metadata": {"labels": dict(template_labels)}, "spec": {}}}}


def test_job_keeps_the_template_labels_kfdeploy_applied_before() -> None:
    live = live_job(["app.kubernetes.io/name", LEGACY_APPLICATION, "app.kubernetes.io/managed-by"])
    desired = desired_job(**{"app.kubernetes.io/name": "cert-job"})
    out, kept = keep_template_labels(desired, live, "kfdeploy", "batch")
    assert kept == {LEGACY_APPLICATION: "katib", "app.kubernetes.io/managed-by": "kfdeploy"}
    labels = out["spec"]["template"]["metadata"]["labels"]
    assert labels == {"app.kubernetes.io/name": "cert-job", **kept}
    assert "batch.kubernetes.io/controller-uid" not in labels  # not ours: never applied by kfdeploy
    assert desired == desired_job(**{"app.kubernetes.io/name": "cert-job"})


def test_nothing_kept_when_not_a_job_or_nothing_dropped() -> None:
    live = live_job([LEGACY_APPLICATION])
    same = desired_job(**{LEGACY_APPLICATION: "katib"})
    assert keep_template_labels(same, live, "kfdeploy", "batch") == (same, {})
    deployment = {**desired_job(), "apiVersion": "apps/v1", "kind": "Deployment"}
    assert keep_template_labels(deployment, live, "kfdeploy", "apps") == (deployment, {})
    assert keep_template_labels(desired_job(), live_job([]), "kfdeploy", "batch")[1] == {}


def test_plan_says_which_labels_a_job_keeps_and_applies_them() -> None:
    live = live_job([LEGACY_APPLICATION])
    desired = stamp(desired_job(), "s")
    [change] = desired_changes([desired], LiveIndex([live]))
    assert change.action == "update"
    assert change.reason == f"keeps {LEGACY_APPLICATION} on its immutable pod template"
    assert change.desired is not None
    assert change.desired["spec"]["template"]["metadata"]["labels"] == {LEGACY_APPLICATION: "katib"}
