"""The nodes a cloud autoscaler may add, from the spec's node pools (pure: no cloud call).

A GKE GPU pool that scales from zero has no node when pre-flight looks; without these templates
every GPU workload would seem to fit nowhere. Labels and taints are those the cloud puts on the
pool's nodes; only the GPU count is known, every other resource is taken as enough.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from kfdeploy.preflight.capacity import Node, PoolTemplate

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef

GPU = "nvidia.com/gpu"
# GKE puts this taint on every node of a pool with GPUs.
GKE_GPU_TAINT = {"key": GPU, "value": "present", "effect": "NoSchedule"}


def _taints(taints: Any) -> list[dict[str, Any]]:
    return [{"key": t.key, "value": t.value, "effect": t.effect} for t in taints]


def pool_templates(spec: KfDef) -> list[PoolTemplate]:
    platform = spec.spec.platform
    settings: Any = platform.settings
    if platform.kind == "gke":
        out = []
        for p in settings.cluster.node_pools:
            gpus = sum(a.count for a in p.accelerators)
            labels = {**p.labels, "cloud.google.com/gke-nodepool": p.name,
                      **({"cloud.google.com/gke-accelerator": p.accelerators[0].type} if gpus else {})}
            taints = _taints(p.taints) + ([GKE_GPU_TAINT] if gpus and GKE_GPU_TAINT not in _taints(p.taints) else [])
            node = Node(f"(new node of pool {p.name})", labels, taints, {GPU: Fraction(gpus)})
            if p.autoscaling.max > 0:
                out.append(PoolTemplate(p.name, p.autoscaling.max, node))
        return out
    if platform.kind == "eks":
        return [PoolTemplate(g.name, g.scaling.max, Node(f"(new node of group {g.name})",
                                                          {**g.labels, "eks.amazonaws.com/nodegroup": g.name},
                                                          _taints(g.taints), {}))
                for g in settings.cluster.node_groups if g.scaling.max > 0]
    return []
