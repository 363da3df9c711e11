"""The process chain over plain dicts: extract, validate, namespace, labels, sort, duplicates."""

from __future__ import annotations

from typing import Any

import pytest

from kfdeploy.errors import RenderError
from kfdeploy.labels import APPLICATION, RECOMMENDED
from kfdeploy.render import process
from kfdeploy.render.process import Context

CTX = Context("pipelines", "kubeflow")


def obj(kind: str, name: str, ns: str | None = None, api: str = "v1", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": api, "kind": kind, "metadata": meta, **extra}


EXTRACT = [
    ("list", [obj("ConfigMap", "a"), obj("Secret", "b")], ["a", "b"]),
    ("nested-list", [[obj("ConfigMap", "a")], [[obj("Secret", "b")]]], ["a", "b"]),
    ("tanka-object", {"x": {"cm": obj("ConfigMap", "a")}, "y": obj("Secret", "b")}, ["a", "b"]),
    ("nulls-dropped", [None, obj("ConfigMap", "a"), {"z": None}], ["a"]),
    ("list-kind-unwrapped", {"apiVersion": "v1", "kind": "List", "items": [obj("ConfigMap", "a")]}, ["a"]),
    ("empty", {}, []),
]


@pytest.mark.parametrize("value,names", [r[1:] for r in EXTRACT], ids=[r[0] for r in EXTRACT])
def test_extract(value: Any, names: list[str]) -> None:
    assert [o["metadata"]["name"] for o in process.extract(value)] == names


def test_extract_rejects_stray_leaf_with_path() -> None:
    with pytest.raises(RenderError, match=r"at \.x\.y\[1\]: expected a Kubernetes object"):
        process.extract({"x": {"y": [obj("ConfigMap", "a"), "oops"]}})


INVALID = [
    ("no-name", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "metadata.name is required"),
    ("upper-case", obj("ConfigMap", "Bad"), "must be a DNS subdomain"),
    ("service-starts-with-digit", obj("Service", "1svc"), "DNS-1035 label"),
    ("namespace-with-dot", obj("Namespace", "a.b"), "DNS label"),
    ("bad-namespace", obj("ConfigMap", "a", ns="Kube_Flow"), "metadata.namespace 'Kube_Flow'"),
    ("empty-kind", {"apiVersion": "v1", "kind": "", "metadata": {"name": "a"}}, "kind must be a non-empty string"),
]


@pytest.mark.parametrize("o,fragment", [r[1:] for r in INVALID], ids=[r[0] for r in INVALID])
def test_invalid_objects_are_reported_with_application(o: dict[str, Any], fragment: str) -> None:
    with pytest.raises(RenderError) as err:
        process.process([o], CTX)
    assert "application 'pipelines'" in str(err.value) and fragment in str(err.value)


def test_rbac_names_may_have_colons() -> None:
    assert process.validate(obj("ClusterRole", "system:kubeflow-view", api="rbac.authorization.k8s.io/v1")) == []


NAMESPACE = [
    ("namespaced-defaulted", obj("ConfigMap", "a"), "kubeflow"),
    ("namespaced-kept", obj("ConfigMap", "a", ns="other"), "other"),
    ("cluster-scoped-stays-empty", obj("ClusterRole", "a", api="rbac.authorization.k8s.io/v1"), None),
    ("cluster-scoped-namespace-dropped", obj("Namespace", "a", ns="x"), None),
    ("custom-resource-namespaced", obj("Experiment", "a", api="kubeflow.org/v1beta1"), "kubeflow"),
]


@pytest.mark.parametrize("o,ns", [r[1:] for r in NAMESPACE], ids=[r[0] for r in NAMESPACE])
def test_namespace_defaulting(o: dict[str, Any], ns: str | None) -> None:
    assert process.process([o], CTX)[0]["metadata"].get("namespace") == ns


def test_cluster_scoped_custom_kind_from_rendered_crd() -> None:
    crd = obj("CustomResourceDefinition", "profiles.kubeflow.org", api="apiextensions.k8s.io/v1",
              spec={"group": "example.com", "scope": "Cluster", "names": {"kind": "Widget"}})
    kinds = process.cluster_scoped_kinds([crd])
    ctx = Context("profiles", "kubeflow", kinds)
    out = process.process([obj("Widget", "w", api="example.com/v1")], ctx)
    assert "namespace" not in out[0]["metadata"]
    # Only that group's Widget: the same kind name in another group stays namespaced.
    other = process.process([obj("Widget", "w", api="other.example.com/v1")], ctx)
    assert other[0]["metadata"]["namespace"] == "kubeflow"


OURS = {APPLICATION: "pipelines", **RECOMMENDED}
SOURCE_LABELS = {"app.kubernetes.io/component": "controller", "app.kubernetes.io/managed-by": "Helm",
                 "app.kubernetes.io/version": "v1.16.1"}


def test_object_labels_added_only_where_absent() -> None:
    bare, labelled = obj("ConfigMap", "a"), obj("ConfigMap", "b")
    labelled["metadata"]["labels"] = dict(SOURCE_LABELS)
    out = {o["metadata"]["name"]: o["metadata"]["labels"] for o in process.process([bare, labelled], CTX)}
    assert out["a"] == OURS
    assert {k: out["b"][k] for k in SOURCE_LABELS} == SOURCE_LABELS  # the source's values stay
    assert out["b"][APPLICATION] == "pipelines" and set(out["b"]) == set(SOURCE_LABELS) | set(OURS)


def test_application_label_is_ours_alone() -> None:
    o = obj("ConfigMap", "a")
    o["metadata"]["labels"] = {APPLICATION: "something-else"}
    assert process.process([o], CTX)[0]["metadata"]["labels"][APPLICATION] == "pipelines"


def workload(kind: str, api: str = "apps/v1") -> dict[str, Any]:
    pod = {"app.kubernetes.io/name": "w", **SOURCE_LABELS}
    spec: dict[str, Any] = {"template": {"metadata": {"labels": pod}, "spec": {"containers": []}}}
    if kind != "Job":
        spec["selector"] = {"matchLabels": {"app.kubernetes.io/name": "w"}, "matchExpressions": [
            {"key": "app.kubernetes.io/component", "operator": "In", "values": ["controller"]}]}
    if kind == "CronJob":
        spec = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": spec["template"]}}}
    return obj(kind, "w", api=api, spec=spec)


@pytest.mark.parametrize("kind,api", [("Deployment", "apps/v1"), ("StatefulSet", "apps/v1"),
                                      ("DaemonSet", "apps/v1"), ("ReplicaSet", "apps/v1"),
                                      ("Job", "batch/v1"), ("CronJob", "batch/v1")])
def test_selectors_and_pod_templates_untouched(kind: str, api: str) -> None:
    source = workload(kind, api)
    out = process.process([source], CTX)[0]
    assert out["spec"] == source["spec"]
    assert out["metadata"]["labels"][APPLICATION] == "pipelines"


SELECTOR_MISMATCH = [
    ("match-labels", {"matchLabels": {"app.kubernetes.io/component": "webhook"}}),
    ("expression-in", {"matchExpressions": [{"key": "app.kubernetes.io/component", "operator": "In",
                                             "values": ["webhook"]}]}),
    ("expression-does-not-exist", {"matchExpressions": [{"key": "app.kubernetes.io/version",
                                                         "operator": "DoesNotExist"}]}),
]


@pytest.mark.parametrize("selector", [r[1] for r in SELECTOR_MISMATCH], ids=[r[0] for r in SELECTOR_MISMATCH])
def test_selector_that_misses_its_template_is_a_render_error(selector: dict[str, Any]) -> None:
    o = workload("Deployment")
    o["spec"]["selector"] = selector
    with pytest.raises(RenderError, match=r"Deployment/w: spec.selector .* does not select its pod template"):
        process.process([o], CTX)


def test_input_is_not_mutated() -> None:
    o = obj("ConfigMap", "a")
    process.process([o], CTX)
    assert o == obj("ConfigMap", "a")


def test_sort_by_kind_rank_then_namespace_then_name() -> None:
    objs = [
        obj("ValidatingWebhookConfiguration", "v", api="admissionregistration.k8s.io/v1"),
        obj("Deployment", "b", api="apps/v1"), obj("Deployment", "a", api="apps/v1"),
        obj("Service", "s"), obj("ConfigMap", "c", ns="zz"), obj("ConfigMap", "c", ns="aa"),
        obj("ClusterRole", "r", api="rbac.authorization.k8s.io/v1"), obj("ServiceAccount", "sa"),
        obj("CustomResourceDefinition", "x.y", api="apiextensions.k8s.io/v1"), obj("Namespace", "kubeflow"),
    ]
    out = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in process.process(objs, CTX)]
    assert out == [
        ("Namespace", None, "kubeflow"), ("CustomResourceDefinition", None, "x.y"),
        ("ServiceAccount", "kubeflow", "sa"), ("ClusterRole", None, "r"),
        ("ConfigMap", "aa", "c"), ("ConfigMap", "zz", "c"), ("Service", "kubeflow", "s"),
        ("Deployment", "kubeflow", "a"), ("Deployment", "kubeflow", "b"),
        ("ValidatingWebhookConfiguration", None, "v"),
    ]


def test_canonical_key_order() -> None:
    o = {"data": {"k": "v"}, "metadata": {"labels": {}, "name": "a"}, "kind": "ConfigMap", "apiVersion": "v1"}
    out = process.process([o], CTX)[0]
    assert list(out) == ["apiVersion", "kind", "metadata", "data"]
    assert list(out["metadata"]) == ["name", "namespace", "labels"]


def test_duplicates_within_application() -> None:
    with pytest.raises(RenderError, match="ConfigMap/kubeflow/a is rendered twice in application 'pipelines'"):
        process.process([obj("ConfigMap", "a"), obj("ConfigMap", "a", ns="kubeflow")], CTX)


def test_duplicates_across_applications_name_both() -> None:
    a = process.process([obj("ConfigMap", "a")], CTX)
    b = process.process([obj("ConfigMap", "a")], Context("katib", "kubeflow"))
    with pytest.raises(RenderError, match="in applications 'pipelines' and 'katib'"):
        process.check_duplicates({"pipelines": a, "katib": b})


def test_same_name_different_group_is_not_duplicate() -> None:
    objs = [obj("Gateway", "g", api="networking.istio.io/v1"), obj("Gateway", "g", api="gateway.networking.k8s.io/v1")]
    assert len(process.process(objs, CTX)) == 2
