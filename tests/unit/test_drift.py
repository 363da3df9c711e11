"""Drift: fields kfdeploy applies that someone else changed, seen against the live object."""

from __future__ import annotations

import base64

import pytest

from kfdeploy.kube.diff import drift, object_drift

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "1"}},
          "spec": {"replicas": 2, "template": {"spec": {"containers": [
              {"name": "c", "image": "img:1", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
               "env": [{"name": "EMPTY", "value": ""}]}]}}}}


def live(**changes):
    import copy
    obj = copy.deepcopy(DEPLOY)
    obj["metadata"].update({"uid": "u", "resourceVersion": "9", "managedFields": []})
    obj["status"] = {"readyReplicas": 2}
    c = obj["spec"]["template"]["spec"]["containers"][0]
    c.update({"terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"})
    c["env"] = [{"name": "EMPTY"}]  # the server drops empty values
    for path, value in changes.items():
        target = obj
        *parents, leaf = path.split(".")
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target[p]
        target[leaf] = value
    return obj


@pytest.mark.parametrize("live_obj,expected", [
    (live(), []),
    (live(**{"spec.replicas": 0}), ["spec.replicas"]),
    (live(**{"spec.template.spec.containers.0.image": "img:2"}), ["spec.template.spec.containers[0].image"]),
    (live(**{"spec.template.spec.containers.0.resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}}}), []),
    (live(**{"metadata.labels": {"a": "2", "extra": "x"}}), ["metadata.labels.a"]),
], ids=["server-defaults-and-status-ignored", "scaled-by-hand", "image-edited", "same-quantities", "label-edited"])
def test_object_drift(live_obj, expected):
    assert object_drift(live_obj, DEPLOY) == expected


@pytest.mark.parametrize("field,desired,by_hand", [
    ("replicas", 0, 3),
    ("paused", False, True),
    ("revisionHistoryLimit", 0, 10),
], ids=["scaled-to-zero-then-up-by-hand", "unpaused-then-paused", "no-history-then-some"])
def test_a_falsy_desired_value_changed_by_hand_is_drift(field, desired, by_hand):
    wanted = {**DEPLOY, "spec": {**DEPLOY["spec"], field: desired}}
    edited = live()
    edited["spec"][field] = by_hand
    assert object_drift(edited, wanted) == [f"spec.{field}"]
    edited["spec"][field] = desired
    assert object_drift(edited, wanted) == []


def test_a_falsy_value_the_server_omits_is_not_drift():
    wanted = {**DEPLOY, "spec": {**DEPLOY["spec"], "paused": False, "minReadySeconds": 0}}
    assert object_drift(live(), wanted) == []


def test_an_empty_list_the_server_returns_as_null_is_not_drift():
    """Upstream's ClusterRoles with `rules: []` come back from the API server as `rules: null`."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "kubeflow-spark-admin"}, "rules": []}
    assert object_drift({**role, "rules": None}, role) == []
    granted = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    assert object_drift({**role, "rules": granted}, role) == ["rules"]  # rules added by hand still count
    assert object_drift({**role, "rules": None}, {**role, "rules": granted}) == ["rules"]


def test_secret_string_data_compares_with_base64_data():
    desired = {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    same = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": base64.b64encode(b"hunter2").decode()}}
    changed = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"password": base64.b64encode(b"other").decode()}}
    assert object_drift(same, desired) == []
    assert object_drift(changed, desired) == ["data.password"]


def test_list_length_change_is_drift_and_report_is_bounded():
    assert drift({"a": [1, 2, 3]}, {"a": [1, 2]}) == ["a"]
    many = {f"k{i}": i + 1 for i in range(20)}
    assert len(drift({}, many)) == 5
