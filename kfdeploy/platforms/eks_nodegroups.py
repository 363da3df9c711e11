"""EKS managed node groups as data: what the spec asks for, and how it differs from what exists.

Everything here is pure (no AWS calls), so the choices that matter most to users, which AMI a
GPU instance gets, how taints are spelled for the EKS API, what a re-run changes in place and
what it cannot change, are tested as plain functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from kfdeploy.errors import PlatformError

FIELD = "spec.platform.eks.cluster.nodeGroups"
# NVIDIA GPU instance families (x86 unless listed in ARM_NVIDIA). g4ad is AMD: not here.
NVIDIA_FAMILIES = frozenset({
    "g3", "g3s", "g4dn", "g5", "g5g", "g6", "g6e", "g6f", "gr6", "gr6f", "g7e",
    "p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200",
})
ARM_NVIDIA = frozenset({"g5g", "p6e-gb200"})
NEURON_PREFIXES = ("inf", "trn")
GRAVITON = re.compile(r"^[a-z]+[0-9]+g[a-z]*$")  # m7g, c6gn, r8gd, t4g, x2gd
GPU_DISK_GB = 100
CPU_DISK_GB = 50
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE",
                 "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


@dataclass(frozen=True)
class NodeGroupPlan:
    """One node group as kfdeploy will request it; ``field`` is its spec path for messages."""

    name: str
    instance_types: tuple[str, ...]
    min: int
    max: int
    desired: int | None
    ami_type: str
    disk_size: int
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[tuple[str, str, str], ...] = ()  # (key, value, EKS effect)
    field: str = FIELD

    @property
    def accelerated(self) -> bool:
        """GPU or Neuron: these need the bigger disk and the device-plugin add-on."""
        return "NVIDIA" in self.ami_type or "NEURON" in self.ami_type or "GPU" in self.ami_type


def family(instance_type: str) -> str:
    """``g5.12xlarge`` -> ``g5``."""
    return instance_type.split(".", 1)[0].lower()


def ami_type_for(instance_type: str) -> str:
    """The EKS-optimized AL2023 AMI that boots this instance type with its drivers."""
    fam = family(instance_type)
    if fam in NVIDIA_FAMILIES:
        return "AL2023_ARM_64_NVIDIA" if fam in ARM_NVIDIA else "AL2023_x86_64_NVIDIA"
    if fam.startswith(NEURON_PREFIXES):
        return "AL2023_x86_64_NEURON"
    if GRAVITON.match(fam):
        return "AL2023_ARM_64_STANDARD"
    return "AL2023_x86_64_STANDARD"


def plan_from_spec(group: Any, index: int) -> NodeGroupPlan:
    """A plan from a validated ``EksNodeGroup`` of the spec."""
    types = (group.instance_type,)
    ami = group.ami_type or ami_type_for(types[0])
    taints = tuple((t.key, t.value, TAINT_EFFECTS[t.effect]) for t in group.taints)
    plan = NodeGroupPlan(
        name=group.name, instance_types=types, min=group.scaling.min, max=group.scaling.max,
        desired=group.scaling.desired, ami_type=ami, disk_size=0, labels=dict(group.labels),
        taints=taints, field=f"{FIELD}[{index}]")
    return _with_disk(plan, group.disk_size_gb)


def plan_from_defaults(raw: Mapping[str, Any], index: int, source: str) -> NodeGroupPlan:
    """A plan from a ``defaults.nodeGroups`` entry of platforms/eks.yaml (``instanceTypes`` or
    ``instanceType``); a malformed entry names the file."""
    try:
        types = tuple(raw.get("instanceTypes") or [raw.get("instanceType", "m5.xlarge")])
        scaling = raw.get("scaling") or {}
        taints = tuple((str(t["key"]), str(t.get("value", "")), TAINT_EFFECTS[t["effect"]])
                       for t in raw.get("taints") or [])
        plan = NodeGroupPlan(
            name=str(raw["name"]), instance_types=tuple(str(t) for t in types),
            min=int(scaling.get("min", 1)), max=int(scaling.get("max", 3)),
            desired=scaling.get("desired"), ami_type=str(raw.get("amiType") or
                                                         ami_type_for(str(types[0]))),
            disk_size=0, labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
            taints=taints, field=f"{source}: defaults.nodeGroups[{index}]")
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise PlatformError(f"{source}: defaults.nodeGroups[{index}] is malformed ({e!r})",
                            hint="each entry needs name, instanceTypes, scaling {min, max}") from e
    return _with_disk(plan, raw.get("diskSizeGb"))


def _with_disk(plan: NodeGroupPlan, disk: int | None) -> NodeGroupPlan:
    default = GPU_DISK_GB if plan.accelerated else CPU_DISK_GB
    return replace(plan, disk_size=int(disk) if disk else default)


def desired_size(plan: NodeGroupPlan, current: int | None = None) -> int:
    """The spec's desired size; else keep the current size (the cluster autoscaler may have
    moved it) clamped into [min, max]; else min, as the spec documents."""
    if plan.desired is not None:
        return plan.desired
    if current is not None:
        return min(max(current, plan.min), plan.max)
    return plan.min


def create_request(plan: NodeGroupPlan, cluster: str, subnets: Sequence[str], node_role: str,
                   tags: Mapping[str, str]) -> dict[str, Any]:
    """The ``eks.create_nodegroup`` parameters."""
    return {
        "clusterName": cluster, "nodegroupName": plan.name, "nodeRole": node_role,
        "subnets": list(subnets), "instanceTypes": list(plan.instance_types),
        "amiType": plan.ami_type, "diskSize": plan.disk_size, "capacityType": "ON_DEMAND",
        "scalingConfig": {"minSize": plan.min, "maxSize": plan.max,
                          "desiredSize": desired_size(plan)},
        "labels": dict(plan.labels),
        "taints": [{"key": k, "value": v, "effect": e} for k, v, e in plan.taints],
        "tags": dict(tags),
    }


def config_update(plan: NodeGroupPlan, current: Mapping[str, Any]) -> dict[str, Any]:
    """``eks.update_nodegroup_config`` parameters that bring ``current`` (a describe_nodegroup
    ``nodegroup``) to the plan: scaling, labels, taints; empty when nothing differs."""
    update: dict[str, Any] = {}
    now = current.get("scalingConfig") or {}
    want = {"minSize": plan.min, "maxSize": plan.max,
            "desiredSize": desired_size(plan, now.get("desiredSize"))}
    if any(now.get(k) != v for k, v in want.items()):
        update["scalingConfig"] = want
    labels = _label_change(plan.labels, current.get("labels") or {})
    if labels:
        update["labels"] = labels
    taints = _taint_change(plan.taints, current.get("taints") or [])
    if taints:
        update["taints"] = taints
    return update


def _label_change(want: Mapping[str, str], have: Mapping[str, str]) -> dict[str, Any]:
    change: dict[str, Any] = {}
    add = {k: v for k, v in want.items() if have.get(k) != v}
    remove = sorted(set(have) - set(want))
    if add:
        change["addOrUpdateLabels"] = add
    if remove:
        change["removeLabels"] = remove
    return change


def _taint_change(want: Sequence[tuple[str, str, str]],
                  have: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    have_set = {(t["key"], t.get("value", ""), t["effect"]) for t in have}
    add = [t for t in want if t not in have_set]
    want_keys = {(k, e) for k, _, e in want}
    remove = [t for t in sorted(have_set) if (t[0], t[2]) not in want_keys]
    change: dict[str, Any] = {}
    if add:
        change["addOrUpdateTaints"] = [{"key": k, "value": v, "effect": e} for k, v, e in add]
    if remove:
        change["removeTaints"] = [{"key": k, "value": v, "effect": e} for k, v, e in remove]
    return change


def immutable_drift(plan: NodeGroupPlan, current: Mapping[str, Any]) -> list[str]:
    """What differs but EKS cannot change in place (instance types, AMI type, disk size); each
    entry names the spec field, the live value and the wanted one."""
    pairs = [("instanceType", list(current.get("instanceTypes") or []), list(plan.instance_types)),
             ("amiType", current.get("amiType"), plan.ami_type),
             ("diskSizeGb", current.get("diskSize"), plan.disk_size)]
    return [f"{plan.field}.{name} is {want!r} but node group {plan.name} has {have!r}"
            for name, have, want in pairs if have is not None and have != want]
