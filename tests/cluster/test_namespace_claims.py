"""Deleting a namespace deletes its claims, and with them the data of volumes whose reclaimPolicy
is Delete. On the real control plane (the controller-manager's hostPath provisioner binds each
claim to its own PersistentVolume): a namespace holding claims, ours or anyone else's, is kept by
`delete --delete-namespaces` and `apply --prune-namespaces` until the claims' flag is given too."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from .conftest import SharedCluster, cli_run, eventually


def write_spec(tmp_path: Path, name: str, ns: str, with_claim: bool = True, empty: bool = False) -> Path:
    """A KfDef of one jsonnet application: a namespace, a ConfigMap and (optionally) a claim;
    ``empty``: the application renders nothing any more (a spec without applications would
    install the library's defaults)."""
    objects: list[dict[str, Any]] = [] if empty else [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns},
         "data": {"a": "b"}}]
    if with_claim and not empty:
        objects.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "data", "namespace": ns},
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    app = tmp_path / "store"
    app.mkdir(exist_ok=True)
    (app / "main.jsonnet").write_text("function(params) " + json.dumps(objects) + "\n")
    (app / "component.yaml").write_text(yaml.safe_dump({"description": "a namespace with a claim", "params": {}}))
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"platform": {"kind": "kwok"}, "applications": [{"name": "store", "jsonnet": {"path": str(app)}}]}}))
    return spec


def bound_volume(core: client.CoreV1Api, ns: str, claim: str) -> client.V1PersistentVolume:
    """The PersistentVolume the claim is bound to, once it is Bound."""
    pvc = eventually(lambda: core.read_namespaced_persistent_volume_claim(claim, ns),
                     lambda c: c.status.phase == "Bound", f"claim {ns}/{claim} bound")
    return core.read_persistent_volume(pvc.spec.volume_name)


def namespace_exists(core: client.CoreV1Api, ns: str) -> bool:
    return any(n.metadata.name == ns for n in core.list_namespace().items)


def kept(out: str) -> dict[str, str]:
    return {k["object"]: k["reason"] for k in json.loads(out)["kept"]}


def claim(core: client.CoreV1Api, ns: str, name: str) -> client.V1PersistentVolume:
    """Someone else's claim (no owner, not kfdeploy's) in ``ns``; its bound volume."""
    core.create_namespaced_persistent_volume_claim(ns, {
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    return bound_volume(core, ns, name)


def volume_exists(core: client.CoreV1Api, name: str) -> bool:
    return any(v.metadata.name == name for v in core.list_persistent_volume().items)


def test_delete_namespaces_keeps_a_namespace_holding_someone_elses_claim(cluster: SharedCluster, tmp_path: Path):
    ns = f"claims-{uuid.uuid4().hex[:6]}"
    spec = write_spec(tmp_path, f"claims-{ns}", ns, with_claim=False)
    core = client.CoreV1Api(cluster.api)
    code, _, err = cli_run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    volume = claim(core, ns, "workspace")
    assert volume.spec.persistent_volume_reclaim_policy == "Delete"  # the claim's data goes with it

    code, out, err = cli_run(cluster, "delete", "-f", str(spec), "--yes", "--delete-namespaces", "-o", "json")
    assert code == 0, err
    reason = kept(out)[f"Namespace/{ns}"]
    assert "PersistentVolumeClaim/workspace" in reason and "--delete-pvcs" in reason
    assert namespace_exists(core, ns)
    assert core.read_persistent_volume(volume.metadata.name).status.phase == "Bound"
    assert core.list_namespaced_config_map(ns, field_selector="metadata.name=settings").items == []

    code, out, err = cli_run(cluster, "delete", "-f", str(spec), "--yes", "--delete-namespaces",
                             "--delete-pvcs", "-o", "json")
    assert code == 0, err
    assert kept(out) == {}
    assert not namespace_exists(core, ns)
    eventually(lambda: volume_exists(core, volume.metadata.name), lambda present: not present,
               f"volume {volume.metadata.name} of the deleted claim gone")


def test_prune_namespaces_keeps_a_namespace_holding_its_kept_claim(cluster: SharedCluster, tmp_path: Path):
    ns = f"claims-{uuid.uuid4().hex[:6]}"
    spec = write_spec(tmp_path, f"prune-{ns}", ns)
    core = client.CoreV1Api(cluster.api)
    code, _, err = cli_run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    volume = bound_volume(core, ns, "data")
    spec = write_spec(tmp_path, f"prune-{ns}", ns, empty=True)  # all its objects are prune candidates

    code, out, err = cli_run(cluster, "apply", "-f", str(spec), "--yes", "--prune-namespaces")
    assert code == 0, err
    assert f"kept Namespace/{ns}" in out and "PersistentVolumeClaim/data" in out and "--prune-pvcs" in out
    assert namespace_exists(core, ns)
    assert core.read_persistent_volume(volume.metadata.name).status.phase == "Bound"

    code, out, err = cli_run(cluster, "apply", "-f", str(spec), "--yes", "--prune-namespaces", "--prune-pvcs")
    assert code == 0, err
    eventually(lambda: namespace_exists(core, ns), lambda present: not present, f"namespace {ns} gone")
