"""Capacity arithmetic: quantities, effective pod requests (init containers, sidecars, limits,
overhead), node eligibility (nodeSelector, required affinity, taints), fit and totals."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from kfdeploy import quantity
from kfdeploy.preflight import capacity
from kfdeploy.preflight.capacity import Node, PodGroup
from kfdeploy.quantity import parse_or_none

QUANTITIES = [("500m", Fraction(1, 2)), ("2", Fraction(2)), ("1.5", Fraction(3, 2)), ("64Gi", Fraction(64 * 2**30)),
              ("128974848", Fraction(128974848)), ("129e6", Fraction(129 * 10**6)), ("123Mi", Fraction(123 * 2**20)),
              ("1k", Fraction(1000)), ("100n", Fraction(1, 10**7)), (4, Fraction(4)), (".5", Fraction(1, 2))]


@pytest.mark.parametrize("text,value", QUANTITIES, ids=[str(q[0]) for q in QUANTITIES])
def test_quantity_parse(text: Any, value: Fraction) -> None:
    assert quantity.parse(text) == value


@pytest.mark.parametrize("text", ["", "1.2.3", "Gi", "5 Gi", "1Kb", "abc"])
def test_quantity_rejects(text: str) -> None:
    with pytest.raises(quantity.QuantityError):
        quantity.parse(text)


def test_quantity_show_round_trips_readably() -> None:
    assert quantity.show("cpu", Fraction(1, 4)) == "250m"
    assert quantity.show("cpu", Fraction(5, 2)) == "2.5"
    assert quantity.show("memory", quantity.parse("1536Mi")) == "1.5Gi"
    assert quantity.show("nvidia.com/gpu", Fraction(8)) == "8"


def c(cpu: str | None = None, mem: str | None = None, limits: dict[str, str] | None = None,
      **extra: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v}
    return {"name": "c", "image": "x/y:1", "resources": {"requests": requests, "limits": limits or {}}, **extra}


REQUESTS = [
    ("sum-of-containers", {"containers": [c("100m", "64Mi"), c("200m", "64Mi")]}, {"cpu": "300m", "memory": "128Mi"}),
    ("limits-default-requests", {"containers": [c(limits={"nvidia.com/gpu": "2", "cpu": "1"})]},
     {"cpu": "1", "nvidia.com/gpu": "2"}),
    ("request-wins-over-limit", {"containers": [c("250m", limits={"cpu": "2"})]}, {"cpu": "250m"}),
    ("init-larger-than-app", {"initContainers": [c("2", "1Gi")], "containers": [c("500m", "2Gi")]},
     {"cpu": "2", "memory": "2Gi"}),
    ("init-smaller", {"initContainers": [c("100m")], "containers": [c("500m")]}, {"cpu": "500m"}),
    ("sidecar-adds-to-app", {"initContainers": [c("200m", restartPolicy="Always")], "containers": [c("500m")]},
     {"cpu": "700m"}),
    ("init-after-sidecar-sees-it", {"initContainers": [c("300m", restartPolicy="Always"), c("1")],
                                    "containers": [c("100m")]}, {"cpu": "1.3"}),
    ("init-before-sidecar-does-not", {"initContainers": [c("1"), c("300m", restartPolicy="Always")],
                                      "containers": [c("100m")]}, {"cpu": "1"}),
    ("overhead", {"containers": [c("1")], "overhead": {"cpu": "250m"}}, {"cpu": "1.25"}),
    ("nothing-requested", {"containers": [{"name": "c", "image": "x"}]}, {}),
]


@pytest.mark.parametrize("pod,want", [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS])
def test_effective_pod_requests(pod: dict[str, Any], want: dict[str, str]) -> None:
    assert capacity.pod_requests(pod) == {**{k: quantity.parse(v) for k, v in want.items()}, "pods": 1}


GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def node(name: str, cpu: str = "16", mem: str = "64Gi", gpus: int = 0, taints: list[dict[str, Any]] | None = None,
         labels: dict[str, str] | None = None, unschedulable: bool = False) -> Node:
    alloc = {"cpu": cpu, "memory": mem, "pods": "110", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    return Node.of({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
                    "spec": {"taints": taints or [], "unschedulable": unschedulable},
                    "status": {"allocatable": alloc}})


CPU_NODE = node("cpu-0")
GPU_NODE = node("gpu-0", gpus=4, taints=[GPU_TAINT], labels={"nvidia.com/gpu.present": "true"})
TOLERATE = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]

ELIGIBLE = [
    ("plain-on-cpu", {}, CPU_NODE, None),
    ("taint-blocks", {}, GPU_NODE, "taint nvidia.com/gpu=present:NoSchedule not tolerated"),
    ("exists-toleration", {"tolerations": TOLERATE}, GPU_NODE, None),
    ("equal-toleration", {"tolerations": [{"key": "nvidia.com/gpu", "value": "present"}]}, GPU_NODE, None),
    ("wrong-value", {"tolerations": [{"key": "nvidia.com/gpu", "value": "yes"}]}, GPU_NODE, "taint"),
    ("wrong-effect", {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}]},
     GPU_NODE, "taint"),
    ("tolerate-everything", {"tolerations": [{"operator": "Exists"}]}, GPU_NODE, None),
    ("prefer-no-schedule-ignored", {}, node("p", taints=[{"key": "k", "effect": "PreferNoSchedule"}]), None),
    ("node-selector", {"nodeSelector": {"nvidia.com/gpu.present": "true"}}, CPU_NODE, "nodeSelector"),
    ("affinity-in", {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "In",
                                                     "values": ["true"]}]}]}}}}, CPU_NODE, "affinity"),
    ("affinity-terms-or", {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zz", "operator": "Exists"}]},
                              {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["cpu-0"]}]}]}}}},
     CPU_NODE, None),
    ("affinity-gt", {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]}]}}}},
     node("big", labels={"cores": "32"}), None),
    ("cordoned", {}, node("x", unschedulable=True), "cordoned"),
]


@pytest.mark.parametrize("pod,n,why", [r[1:] for r in ELIGIBLE], ids=[r[0] for r in ELIGIBLE])
def test_eligibility(pod: dict[str, Any], n: Node, why: str | None) -> None:
    got = capacity.ineligible(pod, n)
    assert (got is None) if why is None else (got is not None and why in got)


def group(pod: dict[str, Any], replicas: int = 1, per_node: bool = False, app: str = "train") -> PodGroup:
    return PodGroup(app, "Deployment/kubeflow/trainer", "kubeflow", pod, {"app": "trainer"}, replicas, per_node)


def gpu_pod(gpus: str, **extra: Any) -> dict[str, Any]:
    return {"containers": [c("1", "1Gi", limits={"nvidia.com/gpu": gpus})], "tolerations": TOLERATE, **extra}


def statuses(findings: list[Any]) -> list[str]:
    return [f.status for f in findings]


def test_impossible_gpu_request_fails_naming_application_workload_and_resource() -> None:
    findings = capacity.check([group(gpu_pod("8"))], [CPU_NODE, GPU_NODE])
    failed = [f for f in findings if f.status == "FAIL"]
    assert len(failed) == 1
    assert "train" in failed[0].object and "Deployment/kubeflow/trainer" in failed[0].object
    assert "nvidia.com/gpu 8" in failed[0].message and "4 (gpu-0)" in failed[0].message
    assert failed[0].fix


def test_gpu_request_that_fits_passes_and_totals_count_replicas() -> None:
    findings = capacity.check([group(gpu_pod("2"), replicas=2)], [CPU_NODE, GPU_NODE])
    assert "FAIL" not in statuses(findings)
    gpu_total = next(f for f in findings if f.object.startswith("nvidia.com/gpu"))
    assert gpu_total.status == "WARN" and "4 of 4 free" in gpu_total.message  # exactly full: tight


def test_gpu_pod_without_toleration_finds_no_node() -> None:
    pod = {"containers": [c(limits={"nvidia.com/gpu": "1"})], "nodeSelector": {"nvidia.com/gpu.present": "true"}}
    failed = [f for f in capacity.check([group(pod)], [CPU_NODE, GPU_NODE]) if f.status == "FAIL"]
    assert len(failed) == 1
    assert "cpu-0: nodeSelector" in failed[0].message and "gpu-0: taint nvidia.com/gpu" in failed[0].message


def test_totals_short_and_tight_say_by_how_much() -> None:
    nodes = [node("a", cpu="4"), node("b", cpu="4")]
    short = capacity.check([group({"containers": [c("3")]}, replicas=3)], nodes)
    cpu = next(f for f in short if f.object.startswith("cpu"))
    assert cpu.status == "WARN" and "9 of 8 free" in cpu.message and "short by 1" in cpu.message
    roomy = capacity.check([group({"containers": [c("1")]}, replicas=2)], nodes)
    assert next(f for f in roomy if f.object.startswith("cpu")).status == "OK"


def test_other_pods_usage_reduces_free_but_own_pods_do_not() -> None:
    nodes = [node("a", cpu="4")]
    pods = [{"metadata": {"name": "other", "namespace": "x", "labels": {}}, "spec": {"nodeName": "a", "containers": [c("3")]},
             "status": {"phase": "Running"}},
            {"metadata": {"name": "mine", "namespace": "kubeflow", "labels": {"app": "trainer", "h": "1"}},
             "spec": {"nodeName": "a", "containers": [c("2")]}, "status": {"phase": "Running"}},
            {"metadata": {"name": "done", "namespace": "x"}, "spec": {"nodeName": "a", "containers": [c("4")]},
             "status": {"phase": "Succeeded"}}]
    groups = [group({"containers": [c("2")]})]
    used = capacity.with_usage(nodes, pods, groups)
    assert used[0].free["cpu"] == 1
    findings = capacity.check(groups, used)
    assert [f.status for f in findings if f.object.startswith("application")] == ["WARN"]  # fits only when freed
    assert "FAIL" not in statuses(findings)


def test_daemonset_counts_once_per_eligible_node_and_may_run_nowhere() -> None:
    ds = group({"containers": [c("1")], "nodeSelector": {"nvidia.com/gpu.present": "true"}, "tolerations": TOLERATE},
               per_node=True)
    findings = capacity.check([ds], [CPU_NODE, GPU_NODE, node("gpu-1", gpus=4, taints=[GPU_TAINT],
                                                              labels={"nvidia.com/gpu.present": "true"})])
    assert "requests total 2 of 48 free" in next(f for f in findings if f.object.startswith("cpu")).message
    nowhere = capacity.check([ds], [CPU_NODE])
    assert [f.status for f in nowhere if f.object.startswith("application")] == ["WARN"]


def test_pod_groups_of_every_workload_kind() -> None:
    tpl = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [c("1")]}}
    objs = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
         "spec": {"replicas": 3, "template": tpl}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "namespace": "n"},
         "spec": {"template": tpl}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "zero", "namespace": "n"},
         "spec": {"replicas": 0, "template": tpl}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "n"},
         "spec": {"parallelism": 4, "completions": 2, "template": tpl}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj", "namespace": "n"},
         "spec": {"jobTemplate": {"spec": {"template": tpl}}}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds", "namespace": "n"},
         "spec": {"template": tpl}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"}, "spec": tpl["spec"]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "n"}},
    ]
    got = {(g.workload, g.replicas, g.per_node) for g in capacity.pod_groups([("app", objs)])}
    assert got == {("Deployment/n/d", 3, False), ("StatefulSet/n/s", 1, False), ("Job/n/j", 2, False),
                   ("CronJob/n/cj", 1, False), ("DaemonSet/n/ds", 1, True), ("Pod/n/p", 1, False)}


def test_an_extended_resource_no_node_advertises_fails() -> None:
    pod = {"containers": [c("100m", limits={"example.com/fpga": "1"})]}
    failed = [f for f in capacity.check([group(pod)], [CPU_NODE, node("cpu-1")]) if f.status == "FAIL"]
    assert len(failed) == 1 and "example.com/fpga 1" in failed[0].message and "no eligible node has any" in \
        failed[0].message


def test_hugepages_and_memory_are_shown_in_binary_units() -> None:
    n = Node.of({"metadata": {"name": "h"}, "status": {"allocatable": {
        "cpu": "4", "memory": "8Gi", "pods": "10", "hugepages-2Mi": "1Gi"}}})
    pod = {"containers": [c("1", "1Gi", limits={"hugepages-2Mi": "2Gi"})]}
    failed = [f for f in capacity.check([group(pod)], [n]) if f.status == "FAIL"]
    assert "hugepages-2Mi 2Gi" in failed[0].message and "1Gi (h)" in failed[0].message


def gke_spec(pools: list[dict[str, Any]]) -> Any:
    from pathlib import Path

    from kfdeploy.spec import parse_spec
    return parse_spec({"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "g"},
                       "spec": {"platform": {"kind": "gke", "gke": {"project": "p", "location": "us-central1-a",
                                                                    "cluster": {"nodePools": pools}}}}},
                      "kfdef.yaml", Path("."))


GKE_GPU_POOL = {"name": "gpu", "machineType": "n1-standard-8", "autoscaling": {"min": 0, "max": 4},
                "accelerators": [{"type": "nvidia-tesla-t4", "count": 2}]}


def test_a_gpu_pool_scaling_from_zero_turns_fail_into_warn_when_its_node_would_fit() -> None:
    from kfdeploy.preflight.pools import pool_templates
    templates = pool_templates(gke_spec([{"name": "cpu"}, GKE_GPU_POOL]))
    assert [t.pool for t in templates] == ["cpu", "gpu"]
    assert templates[1].node.taints == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    fits = capacity.check([group(gpu_pod("2"))], [CPU_NODE], templates)
    warned = [f for f in fits if f.object.startswith("application")]
    assert [f.status for f in warned] == ["WARN"] and "pool gpu (up to 4 nodes)" in warned[0].message
    too_many = capacity.check([group(gpu_pod("3"))], [CPU_NODE], templates)
    assert [f.status for f in too_many if f.object.startswith("application")] == ["FAIL"]
    untolerated = capacity.check([group({"containers": [c(limits={"nvidia.com/gpu": "1"})]})], [CPU_NODE], templates)
    assert [f.status for f in untolerated if f.object.startswith("application")] == ["FAIL"]


def test_pools_that_cannot_grow_add_no_templates() -> None:
    from kfdeploy.preflight.pools import pool_templates
    frozen = {**GKE_GPU_POOL, "autoscaling": {"min": 0, "max": 0}}
    assert pool_templates(gke_spec([frozen])) == []


@pytest.mark.parametrize("value,expected", [
    ("20Gi", Fraction(20 * 2**30)),
    ("500M", Fraction(500_000_000)),
    ("1e3", Fraction(1000)),
    ("250m", Fraction(1, 4)),
    ("100n", Fraction(1, 10**7)),
    ("5u", Fraction(1, 200_000)),
    (2, Fraction(2)),
    ("lots", None),
    (True, None),
    ({"cpu": "1"}, None),
], ids=["binary", "decimal", "exponent", "milli", "nano", "micro", "number", "garbage", "bool", "mapping"])
def test_one_quantity_parser_for_requests_and_field_comparisons(value: object, expected: Fraction | None) -> None:
    assert parse_or_none(value) == expected
