"""Diff: normalization, field changes, Secret masking, rendered plan diffs, quantities."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from kfdeploy.kube.diff import (
    mask_secrets,
    normalize,
    render_diff,
)

KEY = b"fixed-key-for-tests"


def deployment(image: str = "gcr.io/ml-pipeline/api-server:2.5.0", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "ml-pipeline",
            "namespace": "kubeflow",
            "labels": {"app": "ml-pipeline", "app.kubernetes.io/part-of": "kubeflow"},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "ml-pipeline"}},
            "template": {
                "metadata": {"labels": {"app": "ml-pipeline"}},
                "spec": {
                    "containers": [
                        {"name": "istio-proxy", "image": "istio/proxyv2:1.26"},
                        {"name": "ml-pipeline", "image": image, "ports": [{"containerPort": 8888}]},
                    ]
                },
            },
            **spec,
        },
    }


def with_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].update(
        {
            "managedFields": [{"manager": "kfdeploy", "operation": "Apply"}],
            "resourceVersion": "4711",
            "uid": "0b7e-11",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "generation": 7,
            "selfLink": "/apis/apps/v1/namespaces/kubeflow/deployments/ml-pipeline",
            "annotations": {
                "deployment.kubernetes.io/revision": "3",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
            },
        }
    )
    out["status"] = {"replicas": 1, "readyReplicas": 1}
    return out


def secret(**data: str) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "mysql-secret", "namespace": "kubeflow"},
        "type": "Opaque",
        "data": encoded,
    }


# --- normalize -------------------------------------------------------------------------------


def test_normalize_strips_server_fields_only() -> None:
    desired = deployment()
    desired["metadata"]["annotations"] = {"owner": "ml-team"}
    live = with_server_fields(desired)
    live["metadata"]["annotations"]["owner"] = "ml-team"
    assert normalize(live) == desired
    assert "status" in live and "managedFields" in live["metadata"], "input must not be modified"


def test_normalize_drops_emptied_annotations() -> None:
    assert "annotations" not in normalize(with_server_fields(deployment()))["metadata"]


BASE = deployment()


# --- secrets ---------------------------------------------------------------------------------


def test_secret_change_shows_neither_value() -> None:
    live, desired = secret(password="hunter2-old-value"), secret(password="s3cr3t-new-value")
    live["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": '{"stringData":{"password":"hunter2-old-value"}}'
    }
    text = render_diff(("", "Secret", "kubeflow", "mysql-secret"), live, desired)
    visible = text + repr(mask_secrets(live))
    for value in ("hunter2-old-value", "s3cr3t-new-value"):
        assert value not in visible
        assert base64.b64encode(value.encode()).decode() not in visible
    assert "--- live/Secret/kubeflow/mysql-secret" in text and "+++ desired/Secret/kubeflow/mysql-secret" in text
    assert "-  password: (masked, 17 bytes, hash " in text and "+  password: (masked, 16 bytes, hash " in text


@pytest.mark.parametrize(
    "a,b,same",
    [
        ({"data": {"k": "YWJj"}}, {"data": {"k": "YWJj"}}, True),
        ({"data": {"k": "YWJj"}}, {"data": {"k": "YWJk"}}, False),
        ({"data": {"k": "YWJj"}}, {"stringData": {"k": "abc"}}, True),
    ],
    ids=["equal-values", "same-length-different-values", "data-equals-stringdata"],
)
def test_mask_markers_compare_values(a: dict[str, Any], b: dict[str, Any], same: bool) -> None:
    def marker(obj: dict[str, Any]) -> str:
        masked = mask_secrets({"kind": "Secret", **obj}, KEY)
        return str(next(iter((masked.get("data") or masked["stringData"]).values())))

    assert (marker(a) == marker(b)) is same
    assert marker(a).startswith("(masked, 3 bytes, hash ")


def test_mask_leaves_other_kinds_alone() -> None:
    config = {"kind": "ConfigMap", "data": {"password-hint": "plain"}}
    assert mask_secrets(config) == config


# --- render_diff -----------------------------------------------------------------------------


def test_render_diff_no_change_is_empty() -> None:
    assert render_diff("Deployment/kubeflow/ml-pipeline", with_server_fields(BASE), BASE) == ""


def test_render_diff_shows_changed_line() -> None:
    text = render_diff(("apps", "Deployment", "kubeflow", "ml-pipeline"), BASE, deployment(image="api-server:2.6.0"))
    lines = text.splitlines()
    assert lines[0] == "--- live/Deployment/kubeflow/ml-pipeline"
    assert "         name: ml-pipeline" not in lines, "list items start with their name"
    assert "-        image: gcr.io/ml-pipeline/api-server:2.5.0" in lines
    assert "+        image: api-server:2.6.0" in lines
    assert lines.index("-        image: gcr.io/ml-pipeline/api-server:2.5.0") > lines.index(
        "       - name: ml-pipeline"
    )
    assert sum(1 for line in lines if line.startswith(("+", "-")) and line[:3] not in ("+++", "---")) == 2


def test_render_diff_create_and_delete() -> None:
    created = render_diff("ConfigMap/kubeflow/c", None, {"kind": "ConfigMap", "data": {"a": "1"}})
    deleted = render_diff("ConfigMap/kubeflow/c", {"kind": "ConfigMap", "data": {"a": "1"}}, None)
    assert "+kind: ConfigMap" in created and "-kind: ConfigMap" in deleted
