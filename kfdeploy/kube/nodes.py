"""What the nodes of a cluster offer, read from its Node objects: for the cluster verbs'
result line and the platforms' readiness waits."""

from __future__ import annotations

from typing import Any

from kfdeploy.kube.client import Cluster


def node_ready(node: dict[str, Any]) -> bool:
    """Whether a Node reports ``Ready=True``."""
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def node_summary(api: Cluster) -> dict[str, int]:
    """Counts for the result line: nodes, Ready nodes, GPU nodes, GPUs (allocatable)."""
    nodes = api.list("v1", "Node")
    gpus = [int(((n.get("status") or {}).get("allocatable") or {}).get("nvidia.com/gpu", "0")) for n in nodes]
    return {"nodes": len(nodes), "ready": sum(1 for n in nodes if node_ready(n)),
            "gpuNodes": sum(1 for g in gpus if g), "gpus": sum(gpus)}
