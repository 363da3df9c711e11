"""Helm hooks become apply phases: which hooks run, in which order, and what replaces itself; the
release namespace is made when nothing else makes it; recreates are gated."""

from __future__ import annotations

from typing import Any

import pytest

from kfdeploy.errors import RenderError
from kfdeploy.kube.phases import apply_phases
from kfdeploy.kube.plan import Change
from kfdeploy.kube.recreate import RecreateRequired, gate
from kfdeploy.labels import PHASE, REPLACE_ON_CHANGE
from kfdeploy.render.helm import mark_hooks, own_namespace


def doc(kind: str, name: str, api_version: str = "v1", **annotations: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "demo"}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def hook(kind: str, name: str, events: str, weight: str | None = None, policy: str | None = None) -> dict[str, Any]:
    annotations = {"helm.sh/hook": events}
    if weight is not None:
        annotations["helm.sh/hook-weight"] = weight
    if policy is not None:
        annotations["helm.sh/hook-delete-policy"] = policy
    return doc(kind, name, "batch/v1" if kind == "Job" else "v1", **annotations)


CRD = doc("CustomResourceDefinition", "gadgets.example.com", "apiextensions.k8s.io/v1")
NAMESPACE = doc("Namespace", "demo")
DEPLOYMENT = doc("Deployment", "server", "apps/v1")


def names(objs: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def test_hooks_run_in_phase_and_weight_order_with_crds_first() -> None:
    docs = mark_hooks([
        DEPLOYMENT, CRD, NAMESPACE,
        hook("Job", "migrate", "pre-install,pre-upgrade", "-5"),
        hook("ServiceAccount", "migrate-sa", "pre-install", "-10"),
        hook("ConfigMap", "done", "post-install"),
        hook("Job", "seed", "post-upgrade", "3"),
        hook("Pod", "smoke", "test"),
        hook("Job", "cleanup", "pre-delete"),
        hook("Job", "undo", "post-rollback"),
    ], "demo")
    phases = apply_phases(docs)
    assert [(p.name, names(p.objects), p.wait) for p in phases] == [
        ("namespaces and CRDs", ["gadgets.example.com", "demo"], True),
        ("pre hooks (weight -10)", ["migrate-sa"], True),
        ("pre hooks (weight -5)", ["migrate"], True),
        ("resources", ["server"], True),
        ("post hooks (weight 0)", ["done"], True),
        ("post hooks (weight 3)", ["seed"], True),
    ]


def test_without_hooks_there_is_one_phase_of_everything() -> None:
    (phase,) = apply_phases([DEPLOYMENT, CRD, NAMESPACE])
    assert names(phase.objects) == ["server", "gadgets.example.com", "demo"] and not phase.wait


def test_post_hooks_alone_leave_crds_with_the_resources() -> None:
    phases = apply_phases(mark_hooks([CRD, DEPLOYMENT, hook("ConfigMap", "done", "post-install")], "x"))
    assert [names(p.objects) for p in phases] == [["gadgets.example.com", "server"], ["done"]]


@pytest.mark.parametrize(("policy", "replaces"), [
    (None, True), ("before-hook-creation", True), ("hook-succeeded,before-hook-creation", True),
    ("hook-succeeded", False), ("hook-failed", False)],
    ids=["default", "before-hook-creation", "both", "hook-succeeded", "hook-failed"])
def test_before_hook_creation_replaces_a_changed_hook(policy: str | None, replaces: bool) -> None:
    (marked,) = mark_hooks([hook("Job", "migrate", "pre-install", policy=policy)], "x")
    annotations = marked["metadata"]["annotations"]
    assert annotations[PHASE] == "pre:0"
    assert (annotations.get(REPLACE_ON_CHANGE) == "true") is replaces
    assert annotations["helm.sh/hook"] == "pre-install"  # the chart's own annotations stay


def test_a_weight_that_is_not_a_number_names_the_hook() -> None:
    with pytest.raises(RenderError, match="migrate: helm.sh/hook-weight must be an integer"):
        mark_hooks([hook("Job", "migrate", "pre-install", "soon")], "x")


@pytest.mark.parametrize(("namespace", "elsewhere", "made"), [
    ("demo", set(), True), ("demo", {"demo"}, False), ("default", set(), False), ("kube-system", set(), False)],
    ids=["new", "made-by-another-application-or-the-chart", "default", "kube-system"])
def test_the_release_namespace_is_made_once(namespace: str, elsewhere: set[str], made: bool) -> None:
    out = own_namespace([DEPLOYMENT], namespace, elsewhere)
    assert (out[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}) is made
    assert out[-1] is DEPLOYMENT


# --- the gate ------------------------------------------------------------------------------------


def change(obj: dict[str, Any], reason: str = "recreate required: spec.selector changes") -> Change:
    key = ("apps" if obj["apiVersion"] == "apps/v1" else "", obj["kind"], "demo", obj["metadata"]["name"])
    return Change("recreate", key, obj, obj, reason)


def test_a_recreate_is_refused_without_the_flag_and_named() -> None:
    with pytest.raises(RecreateRequired) as info:
        gate([change(DEPLOYMENT)], allowed=False)
    assert "Deployment/demo/server: recreate required: spec.selector" in str(info.value)
    assert "--recreate" in str(info.value)
    gate([change(DEPLOYMENT)], allowed=True)


def test_a_claim_is_never_recreated_even_with_the_flag() -> None:
    claim = doc("PersistentVolumeClaim", "data")
    with pytest.raises(RecreateRequired, match="never recreates a PersistentVolumeClaim: .*deletes its data"):
        gate([change(claim), change(DEPLOYMENT)], allowed=True)


def test_a_hook_that_replaces_itself_needs_no_flag() -> None:
    (job,) = mark_hooks([hook("Job", "migrate", "pre-upgrade")], "x")
    gate([change(job, "replaced on change")], allowed=False)
