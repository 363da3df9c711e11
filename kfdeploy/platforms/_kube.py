"""The few Kubernetes API calls platforms make: reachability, readiness, node and storage setup.

Kept apart from ``kfdeploy.kube`` (the apply engine) because a platform must work before any
component exists, and needs nothing more than these calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from kfdeploy.platforms.kwok_objects import POOL_LABEL

FIELD_MANAGER = "kfdeploy"
APPLY = "application/apply-patch+yaml"
UNREACHABLE = (ApiException, HTTPError, OSError)


def api_client(kubeconfig: Path, context: str | None = None) -> client.ApiClient:
    """An ApiClient for one kubeconfig file and context (no global state is touched)."""
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), context=context,
                            client_configuration=cfg, persist_config=False)
    cfg.retries = 0
    return client.ApiClient(cfg)


def server_version(api: client.ApiClient, timeout: float = 5.0) -> str:
    """GET /version; raises one of UNREACHABLE when the server does not answer."""
    info = client.VersionApi(api).get_code(_request_timeout=timeout)
    return str(info.git_version)


def is_ready(api: client.ApiClient, timeout: float = 3.0) -> bool:
    """True when /readyz answers ok and the default ServiceAccount exists (the
    controller-manager is running, so Pods can be created)."""
    try:
        api.call_api("/readyz", "GET", auth_settings=["BearerToken"],
                     response_types_map={200: "str"}, _request_timeout=timeout,
                     _return_http_data_only=True)
        client.CoreV1Api(api).read_namespaced_service_account(
            "default", "default", _request_timeout=timeout)
    except UNREACHABLE:
        return False
    return True


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Poll ``check`` until it returns True or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def apply_nodes(api: client.ApiClient, nodes: Iterable[dict[str, Any]]) -> None:
    """Server-side apply each Node, then its status (capacity changes only reach an existing
    Node through the status subresource)."""
    core = client.CoreV1Api(api)
    for node in nodes:
        name = node["metadata"]["name"]
        core.patch_node(name, node, field_manager=FIELD_MANAGER, force=True, _content_type=APPLY)
        status = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                  "status": node["status"]}
        core.patch_node_status(name, status, field_manager=FIELD_MANAGER, force=True,
                               _content_type=APPLY)


def pool_node_names(api: client.ApiClient) -> list[str]:
    """Names of the Nodes kfdeploy created (they carry the node-pool label)."""
    nodes = client.CoreV1Api(api).list_node(label_selector=POOL_LABEL)
    return [n.metadata.name for n in nodes.items]


def delete_nodes(api: client.ApiClient, names: Iterable[str]) -> None:
    core = client.CoreV1Api(api)
    for name in names:
        try:
            core.delete_node(name)
        except ApiException as e:
            if e.status != 404:
                raise


def apply_storage_class(api: client.ApiClient, obj: dict[str, Any]) -> None:
    client.StorageV1Api(api).patch_storage_class(
        obj["metadata"]["name"], obj, field_manager=FIELD_MANAGER, force=True, _content_type=APPLY)


# The node lifecycle controller puts these on a Node until it has seen it Ready; pods without
# a matching toleration do not schedule while they are there.
LIFECYCLE_TAINTS = frozenset({"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})


def not_ready_nodes(api: client.ApiClient, names: Iterable[str]) -> list[str]:
    """Which of ``names`` do not exist yet, lack Ready=True, or still carry a lifecycle taint."""
    nodes = {n.metadata.name: n for n in client.CoreV1Api(api).list_node().items}
    return [name for name in names if name not in nodes or not _schedulable(nodes[name])]


def _schedulable(node: client.V1Node) -> bool:
    return _ready(node) and not any(t.key in LIFECYCLE_TAINTS for t in node.spec.taints or [])


def _ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def node_summary(api: client.ApiClient) -> dict[str, int]:
    """Counts for the result line: nodes, Ready nodes, GPU nodes, GPUs (allocatable)."""
    nodes = client.CoreV1Api(api).list_node().items
    gpus = [int((n.status.allocatable or {}).get("nvidia.com/gpu", "0")) for n in nodes]
    return {"nodes": len(nodes), "ready": sum(1 for n in nodes if _ready(n)),
            "gpuNodes": sum(1 for g in gpus if g), "gpus": sum(gpus)}
