"""EKS managed node groups against AWS: create the missing, reconcile the existing, wait, delete.

A node group the spec no longer lists is reported, never deleted (it may run workloads that
kfdeploy does not know about); only ``cluster delete`` removes node groups.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from kfdeploy.errors import PlatformError
from kfdeploy.labels import CLUSTER_TAG
from kfdeploy.platforms import Progress
from kfdeploy.platforms.eks_errors import Ctx, aws_call, aws_find, aws_pages, nodegroup_failure
from kfdeploy.platforms.eks_nodegroups import NodeGroupPlan, config_update, create_request, immutable_drift
from kfdeploy.poll import Poller

T = TypeVar("T")
NODEGROUP_TIMEOUT = 25 * 60.0
NOT_FOUND = ["ResourceNotFoundException"]
FAILED = frozenset({"CREATE_FAILED", "DELETE_FAILED", "FAILED"})
BUSY = frozenset({"CREATING", "UPDATING"})


AWS_HINT = ("check the AWS console (EKS, the cluster's Compute tab) and re-run; kfdeploy resumes "
            "where it stopped")


def names(eks: Any, cluster: str) -> list[str]:
    return [str(n) for n in aws_pages(eks, "list_nodegroups",
                                      Ctx(f"listing the node groups of EKS cluster {cluster}"),
                                      "nodegroups", clusterName=cluster)]


def describe(eks: Any, cluster: str, name: str) -> dict[str, Any] | None:
    found = aws_find(eks, "describe_nodegroup", Ctx(f"looking up node group {name}"), NOT_FOUND,
                     clusterName=cluster, nodegroupName=name)
    return found["nodegroup"] if found else None


def reconcile(eks: Any, cluster: str, plans: list[NodeGroupPlan], subnets: list[str],
              node_role: Callable[[], str], poller: Poller, progress: Progress) -> None:
    """Create missing groups, update scaling/labels/taints of existing ones, then wait for all
    of them; ``node_role`` is called only if a group must be created."""
    existing = set(names(eks, cluster))
    for extra in sorted(existing - {p.name for p in plans}):
        progress(f"note: node group {extra} is in the cluster but not in the spec; kfdeploy "
                 f"leaves it (`aws eks delete-nodegroup --cluster-name {cluster} "
                 f"--nodegroup-name {extra}` removes it)")
    waiting: list[NodeGroupPlan] = []
    for plan in plans:
        current = describe(eks, cluster, plan.name) if plan.name in existing else None
        if current is None:
            _create(eks, cluster, plan, subnets, node_role(), progress)
            waiting.append(plan)
        elif _update(eks, cluster, plan, current, progress) or current["status"] in BUSY:
            waiting.append(plan)
    if waiting:
        wait_active(eks, cluster, waiting, poller, progress)


def _create(eks: Any, cluster: str, plan: NodeGroupPlan, subnets: list[str], role: str,
            progress: Progress) -> None:
    request = create_request(plan, cluster, subnets, role, {CLUSTER_TAG: cluster})
    scaling = request["scalingConfig"]
    progress(f"creating node group {plan.name}: {', '.join(plan.instance_types)} "
             f"({plan.ami_type}, {plan.disk_size} GB), {scaling['minSize']}-{scaling['maxSize']} "
             f"nodes, {scaling['desiredSize']} to start")
    aws_call(eks, "create_nodegroup", Ctx(f"creating node group {plan.name}", plan.field,
                                          plan.instance_types), **request)


def _update(eks: Any, cluster: str, plan: NodeGroupPlan, current: dict[str, Any],
            progress: Progress) -> bool:
    """Bring an existing group to the plan where EKS allows it; True if an update started."""
    status = current["status"]
    if status in FAILED:
        raise nodegroup_failure(plan.name, {**current, "clusterName": cluster},
                                Ctx(f"creating node group {plan.name}", plan.field,
                                    plan.instance_types), _region(eks))
    for drift in immutable_drift(plan, current):
        progress(f"note: {drift}; EKS cannot change that in place: add a node group with a new "
                 "name and remove the old one")
    change = config_update(plan, current)
    if not change:
        progress(f"node group {plan.name} is up to date ({status})")
        return False
    if status in BUSY:
        raise PlatformError(f"node group {plan.name} is {status}; it cannot be changed now",
                            hint="re-run when it is ACTIVE")
    progress(f"updating node group {plan.name}: {', '.join(sorted(change))}")
    aws_call(eks, "update_nodegroup_config", Ctx(f"updating node group {plan.name}", plan.field,
                                                 plan.instance_types),
             clusterName=cluster, nodegroupName=plan.name, **change)
    return True


def wait_active(eks: Any, cluster: str, plans: list[NodeGroupPlan], poller: Poller,
                progress: Progress) -> None:
    """Until every group is ACTIVE; a failed one raises with its health issues classified."""
    pending = {p.name: p for p in plans}
    total = len(plans)

    def fetch() -> dict[str, NodeGroupPlan]:
        for name, plan in list(pending.items()):
            ng = describe(eks, cluster, name) or {"status": "gone"}
            if ng["status"] == "ACTIVE":
                del pending[name]
            elif ng["status"] in FAILED | {"gone", "DELETING", "DEGRADED"}:
                raise nodegroup_failure(name, {**ng, "clusterName": cluster}, Ctx(
                    f"creating node group {name}", plan.field, plan.instance_types),
                    _region(eks))
        return pending

    def label() -> str:
        return (f"waiting for node group {', '.join(pending)} "
                f"({total - len(pending)}/{total} ACTIVE)")

    poller.until(fetch, lambda p: not p, label, NODEGROUP_TIMEOUT, progress)


def delete_all(eks: Any, cluster: str, poller: Poller, progress: Progress) -> None:
    """Delete every node group of the cluster (EKS refuses to delete a cluster that has any)."""
    groups = names(eks, cluster)
    for name in groups:
        progress(f"deleting node group {name} ...")
        aws_find(eks, "delete_nodegroup", Ctx(f"deleting node group {name}"), NOT_FOUND,
                 clusterName=cluster, nodegroupName=name)
    for name in groups:
        poller.until(partial(describe, eks, cluster, name), lambda ng: ng is None,
                     f"deleting node group {name}", NODEGROUP_TIMEOUT, progress)


def _region(eks: Any) -> str:
    return str(eks.meta.region_name)
