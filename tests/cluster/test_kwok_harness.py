"""The shared ``cluster`` and ``namespace`` fixtures give what later cluster tests rely on."""

from __future__ import annotations

from kubernetes import client

from .conftest import CLUSTER_NAME, SharedCluster, eventually


def test_shared_cluster_is_the_test_spec(cluster: SharedCluster) -> None:
    assert (cluster.info.name, cluster.context) == (CLUSTER_NAME, f"kwok-{CLUSTER_NAME}")
    assert cluster.kubeconfig.is_file()
    names = sorted(n.metadata.name for n in client.CoreV1Api(cluster.api).list_node().items)
    assert names == ["cpu-0", "cpu-1", "gpu-0"]


def test_standard_is_the_only_default_storage_class(cluster: SharedCluster) -> None:
    classes = client.StorageV1Api(cluster.api).list_storage_class().items
    defaults = [c.metadata.name for c in classes
                if (c.metadata.annotations or {}).get(
                    "storageclass.kubernetes.io/is-default-class") == "true"]
    assert defaults == ["standard"]


def test_namespace_fixture_gives_a_fresh_namespace(cluster: SharedCluster, namespace: str) -> None:
    core = client.CoreV1Api(cluster.api)
    assert core.read_namespace(namespace).status.phase == "Active"
    assert core.list_namespaced_pod(namespace).items == []


def test_pods_become_running_and_ready(cluster: SharedCluster, namespace: str) -> None:
    core = client.CoreV1Api(cluster.api)
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]}})
    pod = eventually(lambda: core.read_namespaced_pod_status("web", namespace),
                     lambda p: p.status.phase == "Running", "Pod web Running")
    ready = {c.type: c.status for c in pod.status.conditions}
    assert (ready["Ready"], pod.spec.node_name in {"cpu-0", "cpu-1"}) == ("True", True)
    assert pod.status.pod_ip
