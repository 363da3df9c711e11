"""The preflight verb without a cluster, and the checks failing closed when the cluster refuses
to answer (errors injected at the project's own client interface)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes.client
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.kube.client import Cluster, KubeApiError
from kfdeploy.preflight.checks import Inputs, foreign_owner, run_checks


def spec_file(tmp_path: Path, platform: dict[str, Any]) -> str:
    doc = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "pf-unit-absent"},
           "spec": {"platform": platform, "applications": [{"name": "cert-manager"}]}}
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_a_cluster_apply_would_create_is_a_warning(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no kwok cluster of that name here
    result = CliRunner().invoke(cli, ["preflight", "-f", spec_file(tmp_path, {"kind": "kwok"}), "-o", "json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)["findings"]
    assert [(f["check"], f["status"]) for f in found] == [("cluster", "WARN")]
    assert "apply creates it" in found[0]["fix"]


def test_an_unreachable_given_cluster_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["preflight", "-f", spec_file(tmp_path, {"kind": "kwok"}),
                                      "--kubeconfig", str(tmp_path / "missing"), "-o", "json"])
    assert result.exit_code == 1
    found = json.loads(result.stdout)["findings"]
    assert [(f["check"], f["status"]) for f in found] == [("cluster", "FAIL")]


class Refusing(Cluster):
    """Answers /version; refuses every other read with 403, as RBAC without list rights does."""

    def __init__(self) -> None:
        super().__init__(kubernetes.client.ApiClient(), "refusing")

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        if path == "/version":
            return {"gitVersion": "v1.33.2"}
        raise KubeApiError(403, "Forbidden", f"{method} {path}: forbidden: User cannot list")

    def resources(self) -> dict[Any, Any]:
        raise KubeApiError(403, "Forbidden", "GET /apis: forbidden")


def test_checks_that_cannot_read_fail_closed() -> None:
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "d", "namespace": "n"},
           "spec": {}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "a.b.c"}}
    inputs = Inputs([("app", [pvc, crd])], {"app": ">=1.29"}, "applyset-x-v1")
    found = {f.check: f for f in run_checks(Refusing(), inputs)}
    assert found["version"].status == "OK"
    for check in ("capacity", "storage", "crds", "webhooks", "pod-security"):
        assert found[check].status == "FAIL" and "cannot check" in found[check].message, check
        assert "--skip-preflight" in found[check].fix


def test_version_outside_a_component_range_fails() -> None:
    inputs = Inputs([("app", [])], {"app": ">=1.34", "other": ""}, "applyset-x-v1")
    version = [f for f in run_checks(Refusing(), inputs) if f.check == "version"]
    assert [(f.status, f.object) for f in version] == [("FAIL", "application app")]
    assert ">=1.34" in version[0].message and "v1.33.2" in version[0].message


OWNERS = [
    ({"labels": {"applyset.kubernetes.io/part-of": "applyset-x-v1"}}, ""),
    ({"annotations": {"meta.helm.sh/release-name": "r", "meta.helm.sh/release-namespace": "ns"}}, "Helm release ns/r"),
    ({"managedFields": [{"manager": "kfdeploy", "operation": "Apply"},
                        {"manager": "cert-manager-cainjector", "operation": "Update"}]}, ""),
    ({"managedFields": [{"manager": "argocd-controller", "operation": "Apply"}]}, "field manager argocd-controller"),
    ({"managedFields": [{"manager": "kubectl-create", "operation": "Update"}]}, ""),
]


def test_foreign_owners() -> None:
    for meta, owner in OWNERS:
        got = foreign_owner(Refusing(), {"metadata": {"name": "x", **meta}}, "applyset-x-v1")
        assert got.startswith(owner) if owner else got == "", (meta, got)
