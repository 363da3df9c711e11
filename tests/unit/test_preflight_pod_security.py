"""Pod Security admission predicted before apply: each rule of the baseline and restricted levels
as a named pod-spec fixture with the field it names, and the findings that say which workload,
namespace, level and field (``kfdeploy.preflight.pod_security``)."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.kube_api import FakeCluster
from fixtures.pod_security_cases import BASELINE, HARDENED, RESTRICTED, pod

from kfdeploy.preflight.checks import CLUSTER_CHECKS, Inputs, check_pod_security
from kfdeploy.preflight.pod_security import ENFORCE, levels, predict, violations

Obj = dict[str, Any]


def test_a_hardened_pod_meets_every_level():
    assert [violations(level, HARDENED) for level in ("privileged", "baseline", "restricted")] == [[], [], []]


@pytest.mark.parametrize("spec,field", [(s, f) for _, s, f in BASELINE], ids=[n for n, _, _ in BASELINE])
def test_baseline_refuses_and_names_the_field(spec: Obj, field: str):
    assert field in [v.field for v in violations("baseline", spec)]
    assert field in [v.field for v in violations("restricted", spec)]  # restricted includes baseline
    assert violations("privileged", spec) == []


@pytest.mark.parametrize("spec,field", [(s, f) for _, s, f in RESTRICTED], ids=[n for n, _, _ in RESTRICTED])
def test_restricted_refuses_what_baseline_allows(spec: Obj, field: str):
    assert violations("baseline", spec) == []
    assert field in [v.field for v in violations("restricted", spec)]


def test_an_unmasked_proc_mount_is_refused_by_baseline():
    # (not in the shared cases: the API server's validation wants hostUsers false for it first)
    spec = pod(main={"procMount": "Unmasked"})
    assert "containers[main].securityContext.procMount" in [v.field for v in violations("baseline", spec)]


def test_init_containers_are_checked_too():
    spec = pod(initContainers=[{"name": "setup", "image": "x", "securityContext": {"privileged": True}}])
    assert "initContainers[setup].securityContext.privileged" in [v.field for v in violations("baseline", spec)]


def namespace(name: str, level: str | None) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {ENFORCE: level} if level else {}}}


def deployment(name: str, ns: str, spec: Obj) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def test_the_spec_s_level_wins_over_the_cluster_s_and_the_cluster_s_counts_alone():
    found = levels([namespace("a", "restricted")], [namespace("a", "baseline"), namespace("b", "baseline"),
                                                   namespace("c", None)])
    assert found == {"a": ("restricted", "the spec"), "b": ("baseline", "the cluster")}


def test_a_refused_workload_is_named_with_its_namespace_level_and_field():
    apps = [("web", [namespace("team", "restricted"), deployment("api", "team", pod(hostNetwork=True)),
                     deployment("ok", "team", HARDENED)])]
    [finding] = predict(apps, [])
    assert (finding.status, finding.check, finding.object) == ("FAIL", "pod-security", "Deployment/team/api")
    assert "application web" in finding.message and "namespace team" in finding.message
    assert "restricted" in finding.message and "spec.template.spec.hostNetwork" in finding.message
    assert ENFORCE in finding.fix


def test_a_cronjob_and_a_live_namespace_level_are_checked():
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "ops"},
            "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": pod(hostPID=True)}}}}}
    [finding] = predict([("jobs", [cron])], [namespace("ops", "baseline")])
    assert finding.status == "FAIL" and "spec.jobTemplate.spec.template.spec.hostPID" in finding.message
    assert "in the cluster" in finding.message


def test_workloads_in_namespaces_without_a_level_pass():
    [finding] = predict([("web", [deployment("api", "free", pod(hostNetwork=True))])], [namespace("free", None)])
    assert finding.status == "OK"


def test_the_preflight_check_reads_the_live_namespaces():
    fake = FakeCluster()
    fake.add(namespace("team", "baseline"))
    inputs = Inputs([("web", [deployment("api", "team", pod(main={"privileged": True}))])], {}, "applyset-x-v1")
    assert ("pod-security", check_pod_security) in CLUSTER_CHECKS
    found = check_pod_security(fake, inputs)
    assert [(f.status, f.object) for f in found] == [("FAIL", "Deployment/team/api")]
