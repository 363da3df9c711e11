"""Immutable changes end to end through the CLI: a user component's Deployment selector changes,
``plan`` says recreate, ``apply`` refuses, ``apply --recreate`` replaces the Deployment and keeps
its PersistentVolumeClaim; a claim that would need recreating is refused with the reason."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import EXIT_BAD_INPUT
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.recreate import RecreateRequired

from .conftest import cli_run, eventually

COMPONENT = Path(__file__).resolve().parents[1] / "fixtures" / "components" / "selector-app"


def write_spec(path: Path, ns: str, **params: str) -> Path:
    spec = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": ns},
            "spec": {"platform": {"kind": "kwok"}, "applications": [
                {"name": "web", "jsonnet": {"path": str(COMPONENT)}, "params": {"namespace": ns, **params}}]}}
    path.write_text(yaml.safe_dump(spec))
    return path


run = cli_run


def uid(kube: Cluster, api_version: str, kind: str, ns: str, name: str) -> str | None:
    live = kube.get({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}})
    return live["metadata"]["uid"] if live else None


def test_selector_change_is_planned_refused_then_recreated_keeping_the_claim(cluster: Any, tmp_path: Path):
    ns = f"recreate-{uuid.uuid4().hex[:6]}"
    spec = tmp_path / "kfdef.yaml"
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    code, _, err = run(cluster, "apply", "-f", str(write_spec(spec, ns, track="v1")), "--yes")
    assert code == 0, err
    deployment_uid = uid(kube, "apps/v1", "Deployment", ns, "web")
    claim_uid = uid(kube, "v1", "PersistentVolumeClaim", ns, "web-data")
    old_sets = kube.list("apps/v1", "ReplicaSet", namespace=ns)
    assert deployment_uid and claim_uid and len(old_sets) == 1

    write_spec(spec, ns, track="v2")
    code, out, _ = run(cluster, "plan", "-f", str(spec))
    assert code == 2
    line = next(line for line in out.splitlines() if "Deployment" in line)
    assert "recreate" in line and f"Deployment/{ns}/web" in line
    assert "spec.selector changes from" in line and "selector is immutable" in line
    assert "PersistentVolumeClaim" not in out  # unchanged objects are not listed

    code, _, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == RecreateRequired.exit_code == EXIT_BAD_INPUT  # refused, like a missing --yes; not "changes"
    assert "must be deleted and recreated" in err and "--recreate" in err and "spec.selector" in err
    assert uid(kube, "apps/v1", "Deployment", ns, "web") == deployment_uid  # nothing was changed

    code, out, err = run(cluster, "apply", "-f", str(spec), "--yes", "--recreate", "-o", "json")
    assert code == 0, err
    (result,) = [a for a in yaml.safe_load(out)["applications"] if a["name"] == "web"]
    assert result["recreated"] == 1 and result["outcome"] == "applied"
    new = kube.get({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns}})
    assert new is not None and new["metadata"]["uid"] != deployment_uid
    assert new["spec"]["selector"]["matchLabels"]["track"] == "v2"
    assert uid(kube, "v1", "PersistentVolumeClaim", ns, "web-data") == claim_uid  # the data stays
    # The orphaned ReplicaSet of the old selector is gone once the new one is healthy.
    old_names = {r["metadata"]["name"] for r in old_sets}
    eventually(lambda: {r["metadata"]["name"] for r in kube.list("apps/v1", "ReplicaSet", namespace=ns)},
               lambda names: not names & old_names, "old ReplicaSet deleted")
    eventually(lambda: [p["metadata"]["labels"].get("track") for p in kube.list("v1", "Pod", namespace=ns)],
               lambda tracks: tracks == ["v2", "v2"], "only pods of the new selector")
    code, out, _ = run(cluster, "plan", "-f", str(spec))
    assert code == 0, out

    # A claim's storage class cannot change in place, and kfdeploy never recreates a claim.
    write_spec(spec, ns, track="v2", storageClass="other")
    code, out, _ = run(cluster, "plan", "-f", str(spec))
    assert code == 2 and "spec.storageClassName" in out and "recreate" in out
    code, _, err = run(cluster, "apply", "-f", str(spec), "--yes", "--recreate")
    assert code == RecreateRequired.exit_code
    assert "never recreates a PersistentVolumeClaim" in err and "deletes its data" in err
    assert uid(kube, "v1", "PersistentVolumeClaim", ns, "web-data") == claim_uid

    write_spec(spec, ns, track="v2")
    assert run(cluster, "delete", "-f", str(spec), "--yes")[0] == 0
