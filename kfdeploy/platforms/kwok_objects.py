"""The objects that make a kwok control plane look like a real cluster, as pure functions.

Nodes mirror the spec's node pools (CPU, memory, GPU capacity, taints, labels), so scheduling
against them behaves like on the cloud node pools they stand for. The StorageClass uses the
controller-manager's hostPath provisioner, so PersistentVolumeClaims bind without any CSI driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kfdeploy.labels import NODE_POOL

POOL_LABEL = NODE_POOL
GPU_RESOURCE = "nvidia.com/gpu"
PODS_PER_NODE = "110"
STORAGE_CLASS = "standard"
HOSTPATH_PROVISIONER = "kubernetes.io/host-path"


class TaintLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def effect(self) -> str: ...


class PoolLike(Protocol):
    """What a node pool of the spec (``spec.platform.kwok.nodePools[]``) provides; read-only
    properties, so the spec model and ``NodePool`` both satisfy it."""

    @property
    def name(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def cpu(self) -> str: ...
    @property
    def memory(self) -> str: ...
    @property
    def gpus(self) -> int: ...
    @property
    def taints(self) -> Sequence[TaintLike]: ...
    @property
    def labels(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class NodePool:
    """A node pool with the same fields as the spec's; used for the platform defaults."""

    name: str
    count: int = 1
    cpu: str = "8"
    memory: str = "32Gi"
    gpus: int = 0
    taints: Sequence[TaintLike] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


DEFAULT_POOLS: tuple[PoolLike, ...] = (NodePool(name="cpu", count=2, cpu="16", memory="64Gi"),)


def effective_pools(pools: Sequence[PoolLike]) -> Sequence[PoolLike]:
    """The spec's pools, or the platform defaults when it lists none."""
    return pools if pools else DEFAULT_POOLS


def node_names(pool: PoolLike) -> list[str]:
    return [f"{pool.name}-{i}" for i in range(pool.count)]


def instance_type(pool: PoolLike) -> str:
    """A readable stand-in for a cloud machine type, e.g. ``kwok-8cpu-32Gi-4gpu``."""
    gpu = f"-{pool.gpus}gpu" if pool.gpus else ""
    return f"kwok-{pool.cpu}cpu-{pool.memory}{gpu}"


def node_manifest(pool: PoolLike, name: str) -> dict[str, Any]:
    """One simulated Node; kwok-controller plays its kubelet (status, lease, pods)."""
    capacity = {"cpu": pool.cpu, "memory": pool.memory, "pods": PODS_PER_NODE}
    if pool.gpus:
        capacity[GPU_RESOURCE] = str(pool.gpus)
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/role": "agent",
        "node.kubernetes.io/instance-type": instance_type(pool),
        "type": "kwok",
        POOL_LABEL: pool.name,
    }
    if pool.gpus:
        labels["nvidia.com/gpu.present"] = "true"
    labels.update(pool.labels)
    spec: dict[str, Any] = {}
    if pool.taints:
        spec["taints"] = [_taint(t) for t in pool.taints]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"kwok.x-k8s.io/node": "fake",
                                     "node.alpha.kubernetes.io/ttl": "0"}},
        "spec": spec,
        # No conditions: kwok's node-initialize stage only acts on a Node that is not yet
        # Ready, and fills in Ready, addresses and nodeInfo like a kubelet would.
        "status": {"capacity": capacity, "allocatable": dict(capacity)},
    }


def node_manifests(pools: Sequence[PoolLike]) -> list[dict[str, Any]]:
    """Every Node of every pool, named ``<pool>-<i>``; the defaults when no pool is given."""
    return [node_manifest(p, n) for p in effective_pools(pools) for n in node_names(p)]


def stale_nodes(existing: Iterable[str], wanted: Iterable[str]) -> list[str]:
    """Nodes kfdeploy created earlier whose pool shrank or was removed from the spec."""
    keep = set(wanted)
    return sorted(n for n in existing if n not in keep)


def storage_class() -> dict[str, Any]:
    """The default StorageClass: the in-tree hostPath provisioner creates a PersistentVolume per
    claim and deletes it with the claim, so the pool never runs dry the way static PVs would."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": HOSTPATH_PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def _taint(taint: TaintLike) -> dict[str, str]:
    out = {"key": taint.key, "effect": taint.effect}
    if taint.value:
        out["value"] = taint.value
    return out
