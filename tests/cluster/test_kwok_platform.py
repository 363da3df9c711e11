"""Acceptance of the kwok platform, through the CLI: create, schedule GPU work, bind a claim,
complete a Job, reuse, reconcile node pools, print the kubeconfig, delete.

Uses its own cluster (not the shared ``kfdeploy-test`` one) because it deletes it at the end.
The tests run in file order and build on each other, like a user's session.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from kfdeploy.platforms.kwok import KwokPlatform
from kfdeploy.spec import load_spec
from kfdeploy.tools import find_tool, tool_env

from .conftest import TEST_POOLS, api_client, cli_invoke, eventually, kwok_spec_data

NAME = os.environ.get("KFDEPLOY_TEST_CLUSTER", "kfdeploy") + "-accept"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def write_spec(path: Path, pools: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump(kwok_spec_data(NAME, pools)))
    return path


def kwokctl_clusters() -> list[str]:
    done = subprocess.run([find_tool("kwokctl"), "get", "clusters"], env=tool_env(),
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.fixture(scope="module")
def spec_file(tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The acceptance spec; a leftover cluster of an interrupted run is removed first, and the
    cluster is removed at the end even when a test fails before ``test_delete``."""
    path = write_spec(tmp_path_factory.mktemp("accept") / "kfdef.yaml", TEST_POOLS)
    platform = KwokPlatform()
    platform.delete_cluster(load_spec(path))
    yield path
    platform.delete_cluster(load_spec(path))


@pytest.fixture(scope="module")
def created(spec_file: Path) -> dict[str, Any]:
    code, out, err = cli_invoke("cluster", "create", "-f", str(spec_file), "-o", "json")
    assert code == 0, err
    assert f"creating kwok cluster {NAME}" in err
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.fixture(scope="module")
def api(created: dict[str, Any]) -> Iterator[client.ApiClient]:
    api = api_client(Path(created["kubeconfig"]), created["context"])
    yield api
    api.close()


@pytest.fixture(scope="module")
def ns(api: client.ApiClient) -> str:
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "accept"}})
    return "accept"


def deployment(name: str, gpus: int, tolerate: bool, replicas: int = 2) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": [{
        "name": "main", "image": "registry.example/train:1",
        "resources": {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus else {}}]}
    if tolerate:
        pod["tolerations"] = [GPU_TOLERATION]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}}


def test_create_yields_three_ready_nodes(created: dict[str, Any], api: client.ApiClient) -> None:
    assert {k: created[k] for k in ("name", "created", "nodes", "ready", "gpuNodes", "gpus")} == {
        "name": NAME, "created": True, "nodes": 3, "ready": 3, "gpuNodes": 1, "gpus": 4}
    nodes = client.CoreV1Api(api).list_node().items
    assert sorted(n.metadata.name for n in nodes) == ["cpu-0", "cpu-1", "gpu-0"]
    gpu = next(n for n in nodes if n.metadata.name == "gpu-0")
    assert gpu.status.allocatable["nvidia.com/gpu"] == "4"
    assert [(t.key, t.value, t.effect) for t in gpu.spec.taints] == [
        ("nvidia.com/gpu", "present", "NoSchedule")]


def test_gpu_deployment_becomes_available_on_the_gpu_node(api: client.ApiClient, ns: str) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(ns, deployment("trainer", gpus=1, tolerate=True))
    eventually(lambda: apps.read_namespaced_deployment_status("trainer", ns).status,
               lambda s: s.available_replicas == 2, "Deployment trainer Available 2/2")
    pods = core.list_namespaced_pod(ns, label_selector="app=trainer").items
    assert [(p.spec.node_name, p.status.phase) for p in pods] == [("gpu-0", "Running")] * 2


def test_gpu_request_without_toleration_stays_unschedulable(api: client.ApiClient,
                                                            ns: str) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(ns, deployment("untolerated", gpus=1, tolerate=False,
                                                     replicas=1))

    def scheduled_condition() -> Any:
        pods = core.list_namespaced_pod(ns, label_selector="app=untolerated").items
        conds = pods[0].status.conditions or [] if pods else []
        return next((c for c in conds if c.type == "PodScheduled"), None)

    cond = eventually(scheduled_condition, lambda c: c is not None, "PodScheduled condition")
    assert (cond.status, cond.reason) == ("False", "Unschedulable")


def test_pvc_binds_with_the_default_storage_class(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_persistent_volume_claim(ns, {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}})
    pvc = eventually(lambda: core.read_namespaced_persistent_volume_claim("data", ns),
                     lambda c: c.status.phase == "Bound", "PVC data Bound")
    assert pvc.spec.storage_class_name == "standard"
    assert pvc.status.capacity["storage"] == "20Gi"


def test_job_completes(api: client.ApiClient, ns: str) -> None:
    batch = client.BatchV1Api(api)
    batch.create_namespaced_job(ns, {
        "metadata": {"name": "once"},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "registry.example/job:1"}]}}}})
    status = eventually(lambda: batch.read_namespaced_job_status("once", ns).status,
                        lambda s: bool(s.succeeded), "Job once Complete")
    assert [c.type for c in status.conditions if c.status == "True"][-1] == "Complete"


def test_second_create_reuses_the_cluster(spec_file: Path, created: dict[str, Any]) -> None:
    code, out, err = cli_invoke("cluster", "create", "-f", str(spec_file))
    assert code == 0, err
    assert f"reusing running kwok cluster {NAME}" in err
    assert out.strip() == (f"cluster {NAME} ready: 3 nodes (1 GPU node, 4 GPUs), "
                                     f"kubeconfig {created['kubeconfig']}")


def test_removed_pool_removes_its_nodes(spec_file: Path, api: client.ApiClient) -> None:
    smaller = write_spec(spec_file.parent / "smaller.yaml", [TEST_POOLS[0]])
    code, out, err = cli_invoke("cluster", "create", "-f", str(smaller), "-o", "json")
    assert code == 0, err
    assert json.loads(out)["created"] is False
    assert "removing node(s) no longer in the spec: gpu-0" in err
    nodes = client.CoreV1Api(api).list_node().items
    assert sorted(n.metadata.name for n in nodes) == ["cpu-0", "cpu-1"]


def test_kubeconfig_prints_a_usable_kubeconfig(spec_file: Path) -> None:
    code, out, err = cli_invoke("cluster", "kubeconfig", "-f", str(spec_file))
    assert code == 0, err
    config = yaml.safe_load(out)
    assert config["current-context"] == f"kwok-{NAME}"
    assert config["clusters"][0]["cluster"]["server"].startswith("https://127.0.0.1:")


def test_delete_removes_the_cluster(spec_file: Path) -> None:
    code, out, err = cli_invoke("cluster", "delete", "-f", str(spec_file))
    assert (code, out.strip()) == (0, f"cluster {NAME} deleted")
    assert NAME not in kwokctl_clusters()
    _, again_out, _ = cli_invoke("cluster", "delete", "-f", str(spec_file))
    assert again_out.strip() == f"cluster {NAME} does not exist; nothing to delete"
