"""The few cluster calls platforms make — reachability, readiness, node and storage setup —
on the project's one cluster client (``kfdeploy.kube.client.Cluster``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kfdeploy.errors import PlatformError
from kfdeploy.kube.client import FIELD_MANAGER, Cluster, KubeApiError
from kfdeploy.kube.nodes import node_ready
from kfdeploy.kube.retry import NO_RETRY
from kfdeploy.platforms.kwok_objects import POOL_LABEL
from kfdeploy.poll import Poller

APPLY = "application/apply-patch+yaml"
# What a cluster that is down (or still starting) raises: HTTP errors, or no connection at all.
UNREACHABLE = (KubeApiError, PlatformError)


def connect(kubeconfig: Path, context: str | None = None) -> Cluster:
    return Cluster.connect(kubeconfig, context)


def server_version(api: Cluster, timeout: float = 5.0) -> str:
    """GET /version; raises one of UNREACHABLE when the server does not answer."""
    return str(api.call("GET", "/version", timeout=timeout, retry=NO_RETRY).get("gitVersion", ""))


def is_ready(api: Cluster, timeout: float = 3.0) -> bool:
    """True when /readyz answers ok and the default ServiceAccount exists (the
    controller-manager is running, so Pods can be created)."""
    try:
        api.call("GET", "/readyz", accept="text/plain", timeout=timeout, retry=NO_RETRY)
        api.call("GET", "/api/v1/namespaces/default/serviceaccounts/default", timeout=timeout,
                 retry=NO_RETRY)
    except UNREACHABLE:
        return False
    return True


def wait_until(check: Callable[[], bool], timeout: float, poller: Poller) -> bool:
    """Poll ``check`` until it returns True or ``timeout`` seconds pass."""
    return poller.poll(check, bool, poller.clock() + timeout)


def apply_nodes(api: Cluster, nodes: Iterable[dict[str, Any]]) -> None:
    """Server-side apply each Node, then its status (capacity changes only reach an existing
    Node through the status subresource)."""
    for node in nodes:
        name = node["metadata"]["name"]
        api.apply(node, force=True)
        status = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "status": node["status"]}
        api.call("PATCH", f"/api/v1/nodes/{name}/status", body=status, content_type=APPLY,
                 query={"fieldManager": FIELD_MANAGER, "force": "true"})


def pool_node_names(api: Cluster) -> list[str]:
    """Names of the Nodes kfdeploy created (they carry the node-pool label)."""
    return [n["metadata"]["name"] for n in api.list("v1", "Node", label_selector=POOL_LABEL)]


def delete_nodes(api: Cluster, names: Iterable[str]) -> None:
    for name in names:
        api.delete({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})


def apply_storage_class(api: Cluster, obj: dict[str, Any]) -> None:
    api.apply(obj, force=True)


# The node lifecycle controller puts these on a Node until it has seen it Ready; pods without
# a matching toleration do not schedule while they are there.
LIFECYCLE_TAINTS = frozenset({"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})


def not_ready_nodes(api: Cluster, names: Iterable[str]) -> list[str]:
    """Which of ``names`` do not exist yet, lack Ready=True, or still carry a lifecycle taint."""
    nodes = {n["metadata"]["name"]: n for n in api.list("v1", "Node")}
    return [name for name in names if name not in nodes or not _schedulable(nodes[name])]


def _schedulable(node: dict[str, Any]) -> bool:
    taints = (node.get("spec") or {}).get("taints") or []
    return node_ready(node) and not any(t.get("key") in LIFECYCLE_TAINTS for t in taints)


