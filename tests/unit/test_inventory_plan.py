"""Inventory bookkeeping and plan computation: pure functions over dicts."""

from __future__ import annotations

import base64
import hashlib

import pytest

from kfdeploy.kube.inventory import (
    HASH,
    PART_OF,
    Record,
    applyset_id,
    kep_group_kind,
    key_parse,
    key_str,
    object_hash,
    stamp,
)
from kfdeploy.kube.live import LiveIndex, kinds_to_list
from kfdeploy.kube.plan import AppPlan, Change, desired_changes, prune_candidates
from kfdeploy.labels import APPLICATION


def cm(name: str, ns: str = "kubeflow", app: str = "pipelines", **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {APPLICATION: app}}, "data": data}


def test_applyset_id_follows_kep_3659():
    raw = "kfdeploy.demo.kfdeploy-system.ConfigMap."
    digest = base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest()).decode().rstrip("=")
    assert applyset_id("demo") == f"applyset-{digest}-v1"
    assert applyset_id("demo") != applyset_id("other")


def test_object_hash_ignores_its_own_annotation_and_sees_content():
    a = cm("x", a="1")
    stamped = stamp(a, "set-1")
    assert object_hash(stamped) == object_hash(a)
    assert object_hash(cm("x", a="2")) != object_hash(a)


def test_stamp_adds_label_and_hash_without_touching_the_input():
    a = cm("x", a="1")
    s = stamp(a, "set-1")
    assert s["metadata"]["labels"][PART_OF] == "set-1"
    assert s["metadata"]["annotations"][HASH] == object_hash(a)
    assert s["metadata"]["labels"][APPLICATION] == "pipelines"
    assert PART_OF not in a["metadata"]["labels"] and "annotations" not in a["metadata"]


def aggregated_role(name: str, rules: list[dict]) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {APPLICATION: "kubeflow-base"}},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-admin": "true"}}]},
            "rules": rules}


def test_an_aggregated_cluster_role_is_applied_without_the_rules_its_controller_writes():
    rendered = aggregated_role("admin-x", [])
    s = stamp(rendered, "set-1")
    assert "rules" not in s and s["aggregationRule"] == rendered["aggregationRule"]
    assert rendered["rules"] == []  # the input is untouched
    # the aggregation controller filled the live rules in: a re-apply is a no-op, not a fight over .rules
    live = {**s, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    assert [c.action for c in desired_changes([stamp(rendered, "set-1")], LiveIndex([live]))] == ["unchanged"]
    # a plain ClusterRole keeps its rules
    plain = {k: v for k, v in aggregated_role("plain", [{"apiGroups": [""], "resources": ["pods"],
                                                          "verbs": ["get"]}]).items() if k != "aggregationRule"}
    assert stamp(plain, "set-1")["rules"] == plain["rules"]


def test_record_round_trips_through_its_configmap():
    rec = Record("katib", [("apps", "Deployment", "kubeflow", "katib-controller"), ("", "Namespace", "", "x")],
                 hash="abc", spec_hash="def", api_versions={"apps|Deployment": "apps/v1"})
    back = Record.from_configmap(rec.to_configmap("demo"))
    assert back.application == "katib"
    assert sorted(back.objects) == sorted(rec.objects)
    assert (back.hash, back.spec_hash, back.api_versions) == ("abc", "def", {"apps|Deployment": "apps/v1"})


@pytest.mark.parametrize("key", [("", "ConfigMap", "ns", "a"), ("apps", "Deployment", "", "b")],
                         ids=["core-namespaced", "grouped-cluster"])
def test_key_text_round_trip(key):
    assert key_parse(key_str(key)) == key


@pytest.mark.parametrize("obj,expected", [
    (cm("x"), "ConfigMap"),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}, "Deployment.apps"),
], ids=["core", "apps"])
def test_group_kind_spelling(obj, expected):
    assert kep_group_kind(obj) == expected


def test_desired_changes_classifies_create_update_unchanged():
    same, changed, new = stamp(cm("same", a="1"), "s"), stamp(cm("changed", a="2"), "s"), stamp(cm("new"), "s")
    live = LiveIndex([same, stamp(cm("changed", a="1"), "s")])
    actions = {c.key[3]: c.action for c in desired_changes([same, changed, new], live)}
    assert actions == {"same": "unchanged", "changed": "update", "new": "create"}


def test_prune_candidates_are_live_objects_of_the_app_not_rendered_any_more():
    keep, gone = stamp(cm("keep"), "s"), stamp(cm("gone"), "s")
    other_app = stamp(cm("other", app="katib"), "s")
    live = LiveIndex([keep, gone, other_app])
    names = [o["metadata"]["name"] for o in prune_candidates("pipelines", [keep], live, None)]
    assert names == ["gone"]


def test_prune_candidates_include_recorded_objects_that_lost_their_label():
    relabelled = cm("moved", app="somewhere-else")
    live = LiveIndex([relabelled])
    rec = Record("pipelines", [("", "ConfigMap", "kubeflow", "moved")])
    assert [o["metadata"]["name"] for o in prune_candidates("pipelines", [], live, rec)] == ["moved"]


def test_prune_candidates_come_in_reverse_apply_order():
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "kubeflow", "labels": {APPLICATION: "pipelines"}}}
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": "d", "namespace": "kubeflow", "labels": {APPLICATION: "pipelines"}}}
    kinds = [o["kind"] for o in prune_candidates("pipelines", [], LiveIndex([ns, cm("c"), dep]), None)]
    assert kinds == ["Deployment", "ConfigMap", "Namespace"]


def test_kinds_to_list_adds_kinds_only_known_from_records():
    rec = Record("old", [("batch", "Job", "kubeflow", "j")], api_versions={"batch|Job": "batch/v1"})
    kinds = kinds_to_list([cm("x")], [rec])
    assert kinds == {("v1", "ConfigMap"), ("batch/v1", "Job")}


def test_app_plan_summary_and_change_flags():
    plan = AppPlan("x", [Change("create", ("", "ConfigMap", "ns", "a")),
                         Change("keep", ("", "PersistentVolumeClaim", "ns", "p"), reason="data"),
                         Change("unchanged", ("", "ConfigMap", "ns", "b"))])
    assert plan.has_changes
    assert plan.summary() == "1 create, 1 keep"
    assert not AppPlan("y", [Change("keep", ("", "PersistentVolumeClaim", "ns", "p"))]).has_changes
    assert plan.changes[1].label == "PersistentVolumeClaim/ns/p"


def crd(versions: list[str], stored: list[str] | None = None) -> dict:
    obj = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "runs.example.io"},
           "spec": {"group": "example.io", "versions": [{"name": v, "served": True, "storage": i == 0}
                                                         for i, v in enumerate(versions)]}}
    return {**obj, "status": {"storedVersions": stored}} if stored else obj


@pytest.mark.parametrize(("live_versions", "stored", "desired_versions", "action"), [
    (["v1", "v1alpha1"], ["v1alpha1", "v1"], ["v1alpha1"], "keep"),
    (["v1", "v1alpha1"], ["v1alpha1"], ["v1alpha1"], "update"),
    (["v1alpha1"], ["v1alpha1"], ["v1", "v1alpha1"], "update"),
], ids=["drops-a-stored-version", "drops-an-unstored-version", "adds-a-version"])
def test_a_crd_update_that_drops_a_stored_version_is_kept(live_versions, stored, desired_versions, action):
    live = LiveIndex([stamp(crd(live_versions, stored), "s")])
    [change] = desired_changes([stamp(crd(desired_versions), "s")], live)
    assert change.action == action
    if action == "keep":
        assert "v1 (status.storedVersions)" in change.reason and not AppPlan("a", [change]).has_changes
