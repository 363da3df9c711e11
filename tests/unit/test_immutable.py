"""Immutable-field rules, table-tested: which changes need delete-and-recreate, which field the
plan names, and how the server's dry-run refusals are read into field paths."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kfdeploy.kinds import KINDS
from kfdeploy.kube.immutable import Immutable, describe, needs_recreate, server_causes


def obj(api_version: str, kind: str, spec: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "ns"}}
    if spec is not None:
        out["spec"] = spec
    out.update(top)
    return out


def deployment(selector: str = "api", image: str = "api:1") -> dict[str, Any]:
    return obj("apps/v1", "Deployment", {
        "replicas": 1, "selector": {"matchLabels": {"app": selector}},
        "template": {"metadata": {"labels": {"app": selector}},
                     "spec": {"containers": [{"name": "api", "image": image}]}}})


def workload(kind: str, selector: str) -> dict[str, Any]:
    out = deployment(selector)
    out["kind"] = kind
    return out


def statefulset(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "mysql"}}, "serviceName": "mysql",
        "podManagementPolicy": "OrderedReady",
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}}]}
    return obj("apps/v1", "StatefulSet", {**base, **spec})


def live_statefulset() -> dict[str, Any]:
    """As the server returns it: defaults, and a status inside each claim template."""
    live = statefulset()
    template = live["spec"]["volumeClaimTemplates"][0]
    template.update({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}})
    template["spec"]["volumeMode"] = "Filesystem"
    live["spec"]["revisionHistoryLimit"] = 10
    return live


def job(image: str, **spec: Any) -> dict[str, Any]:
    return obj("batch/v1", "Job", {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "m", "image": image}]}}, **spec})


def live_job(image: str) -> dict[str, Any]:
    """The server adds a selector, labels and container defaults."""
    live = job(image, selector={"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
               completionMode="NonIndexed")
    template = live["spec"]["template"]
    template["metadata"] = {"labels": {"batch.kubernetes.io/controller-uid": "u1", "job-name": "x"}}
    template["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    return live


def service(**spec: Any) -> dict[str, Any]:
    return obj("v1", "Service", spec)


def pvc(storage: str, **spec: Any) -> dict[str, Any]:
    return obj("v1", "PersistentVolumeClaim",
               {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}, **spec})


def binding(kind: str, role: str) -> dict[str, Any]:
    return obj("rbac.authorization.k8s.io/v1", kind, None,
               roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
               subjects=[{"kind": "ServiceAccount", "name": "a", "namespace": "ns"}])


def data_object(kind: str, immutable: bool | None, **data: str) -> dict[str, Any]:
    out = obj("v1", kind, None, data=data)
    if immutable is not None:
        out["immutable"] = immutable
    return out


Case = tuple[str, dict[str, Any] | None, dict[str, Any] | None, str | None]
# (id, live, desired, the field the plan must name, or None for "updates in place")
CASES: list[Case] = [
    ("deployment-image", deployment(), deployment(image="api:2"), None),
    ("deployment-selector", deployment(), deployment("api-v2"), "spec.selector"),
    ("deployment-selector-unset", deployment(), {**deployment(), "spec": {"replicas": 2}}, None),
    ("replicaset-selector", workload("ReplicaSet", "a"), workload("ReplicaSet", "b"), "spec.selector"),
    ("daemonset-selector", workload("DaemonSet", "a"), workload("DaemonSet", "b"), "spec.selector"),
    ("deployment-other-group", {**deployment(), "apiVersion": "example.com/v1"},
     {**deployment("b"), "apiVersion": "example.com/v1"}, None),
    ("statefulset-server-defaults", live_statefulset(), statefulset(), None),
    ("statefulset-replicas", live_statefulset(), statefulset(replicas=3), None),
    ("statefulset-selector", live_statefulset(), statefulset(selector={"matchLabels": {"app": "db"}}),
     "spec.selector"),
    ("statefulset-service-name", live_statefulset(), statefulset(serviceName="mysql-headless"), "spec.serviceName"),
    ("statefulset-pod-management", live_statefulset(), statefulset(podManagementPolicy="Parallel"),
     "spec.podManagementPolicy"),
    ("statefulset-claim-size", live_statefulset(), statefulset(volumeClaimTemplates=[
        {"metadata": {"name": "data"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}}}]),
     "spec.volumeClaimTemplates"),
    ("job-same-with-server-defaults", live_job("m:1"), job("m:1"), None),
    ("job-template", live_job("m:1"), job("m:2"), "spec.template"),
    ("job-completion-mode", live_job("m:1"), job("m:1", completionMode="Indexed"), "spec.completionMode"),
    ("job-parallelism", live_job("m:1"), job("m:1", parallelism=3), None),
    ("service-cluster-ip", service(clusterIP="10.0.0.5"), service(clusterIP="10.0.0.9"), "spec.clusterIP"),
    ("service-to-headless", service(clusterIP="10.0.0.5"), service(clusterIP="None"), "spec.clusterIP"),
    ("service-from-headless", service(clusterIP="None", type="ClusterIP"), service(ports=[{"port": 80}]),
     "spec.clusterIP"),
    ("service-ip-unset", service(clusterIP="10.0.0.5"), service(ports=[{"port": 80}]), None),
    ("service-to-external-name", service(type="ClusterIP", clusterIP="10.0.0.5"),
     service(type="ExternalName", externalName="db.example.com"), None),
    ("service-from-external-name", service(type="ExternalName", externalName="db.example.com"),
     service(type="ClusterIP"), None),
    ("service-to-node-port", service(type="ClusterIP", clusterIP="10.0.0.5"), service(type="NodePort"), None),
    ("pvc-grow", pvc("10Gi"), pvc("20Gi"), None),
    ("pvc-grow-mixed-units", pvc("1Gi"), pvc("2000M"), None),
    ("pvc-shrink", pvc("20Gi"), pvc("10Gi"), "spec.resources.requests.storage"),
    ("pvc-access-mode", pvc("10Gi"), pvc("10Gi", accessModes=["ReadWriteMany"]), "spec.accessModes[0]"),
    ("pvc-storage-class", pvc("10Gi", storageClassName="standard"), pvc("10Gi", storageClassName="fast"),
     "spec.storageClassName"),
    ("pvc-volume-attributes-class", pvc("10Gi", volumeAttributesClassName="gold"),
     pvc("10Gi", volumeAttributesClassName="silver"), None),
    ("pvc-server-defaults", pvc("10Gi", storageClassName="standard", volumeName="pv-1", volumeMode="Filesystem"),
     pvc("10Gi"), None),
    ("secret-type", obj("v1", "Secret", None, type="Opaque"), obj("v1", "Secret", None, type="kubernetes.io/tls"),
     "type"),
    ("secret-immutable-data", data_object("Secret", True, a="MQ=="), data_object("Secret", True, a="Mg=="), "data"),
    ("secret-mutable-data", data_object("Secret", None, a="MQ=="), data_object("Secret", None, a="Mg=="), None),
    ("configmap-immutable-data", data_object("ConfigMap", True, a="1"), data_object("ConfigMap", True, a="2"),
     "data"),
    ("configmap-immutable-to-mutable", data_object("ConfigMap", True, a="1"),
     data_object("ConfigMap", False, a="1"), "immutable"),
    ("configmap-becomes-immutable", data_object("ConfigMap", None, a="1"), data_object("ConfigMap", True, a="1"),
     None),
    ("rolebinding-role", binding("RoleBinding", "view"), binding("RoleBinding", "edit"), "roleRef"),
    ("clusterrolebinding-role", binding("ClusterRoleBinding", "view"), binding("ClusterRoleBinding", "edit"),
     "roleRef"),
    ("rolebinding-subjects", binding("RoleBinding", "view"),
     {**binding("RoleBinding", "view"), "subjects": []}, None),
    ("priorityclass-value", obj("scheduling.k8s.io/v1", "PriorityClass", None, value=1000),
     obj("scheduling.k8s.io/v1", "PriorityClass", None, value=2000), "value"),
    ("storageclass-provisioner", obj("storage.k8s.io/v1", "StorageClass", None, provisioner="a"),
     obj("storage.k8s.io/v1", "StorageClass", None, provisioner="b"), "provisioner"),
    ("ingressclass-controller", obj("networking.k8s.io/v1", "IngressClass", {"controller": "a"}),
     obj("networking.k8s.io/v1", "IngressClass", {"controller": "b"}), "spec.controller"),
    ("crd-scope", obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", {"scope": "Namespaced"}),
     obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", {"scope": "Cluster"}), "spec.scope"),
    ("create", None, deployment(), None),
    ("configmap-data", data_object("ConfigMap", None, a="1"), data_object("ConfigMap", None, a="2"), None),
]


@pytest.mark.parametrize(("live", "desired", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_immutable_rules(live: dict[str, Any] | None, desired: dict[str, Any] | None, field: str | None) -> None:
    found = needs_recreate(live, desired)
    if field is None:
        assert found == []
    else:
        assert [f.field for f in found][:1] == [field]
        assert all(f.why and f.change for f in found)


def test_every_rule_kind_has_a_case_that_fires() -> None:
    fired = {(c[2] or {}).get("apiVersion", "").rpartition("/")[0] + "|" + (c[2] or {}).get("kind", "")
             for c in CASES if c[3] is not None}
    assert {f"{r.group}|{r.kind}" for r in KINDS if r.immutable} <= fired


def test_a_rule_never_fires_for_identical_objects() -> None:
    for _, live, _, _ in CASES:
        if live is not None:
            assert needs_recreate(live, copy.deepcopy(live)) == []


def test_every_changed_immutable_field_is_named() -> None:
    desired = statefulset(serviceName="other", podManagementPolicy="Parallel")
    found = needs_recreate(live_statefulset(), desired)
    assert [f.field for f in found] == ["spec.serviceName", "spec.podManagementPolicy"]
    text = describe(found)
    assert text.startswith("recreate required: ") and '"mysql" to "other"' in text


# --- the server's 422 ---------------------------------------------------------------------------

# Cause messages as kube-apiserver's update validation words them.
SELECTOR_CAUSE = {"reason": "FieldValueInvalid", "field": "spec.selector",
                  "message": 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"b"}, '
                             "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"}
STS_CAUSE = {"reason": "FieldValueForbidden", "field": "spec",
             "message": "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                        "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                        "'minReadySeconds' are forbidden"}
PVC_CAUSE = {"reason": "FieldValueForbidden", "field": "spec",
             "message": "Forbidden: spec is immutable after creation except resources.requests and "
                        "volumeAttributesClassName for bound claims"}
ROLE_CAUSE = {"reason": "FieldValueInvalid", "field": "roleRef",
              "message": "Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\"}: cannot change roleRef"}
PORT_CAUSE = {"reason": "FieldValueRequired", "field": "spec.ports[0].port", "message": "Required value"}


@pytest.mark.parametrize(("status", "causes", "fields"), [
    (422, [SELECTOR_CAUSE], ["spec.selector"]),
    (422, [STS_CAUSE], ["spec"]),
    (422, [PVC_CAUSE], ["spec"]),
    (422, [ROLE_CAUSE], ["roleRef"]),
    (422, [PORT_CAUSE], []),
    (422, [PORT_CAUSE, SELECTOR_CAUSE], ["spec.selector"]),
    (409, [SELECTOR_CAUSE], []),
], ids=["selector", "statefulset-spec", "pvc-spec", "role-ref", "other-invalid", "mixed", "not-a-422"])
def test_server_causes(status: int, causes: list[dict[str, str]], fields: list[str]) -> None:
    found = server_causes(status, {"causes": causes})
    assert [f.field for f in found] == fields


def test_server_cause_drops_the_go_value_dump() -> None:
    (found,) = server_causes(422, {"causes": [SELECTOR_CAUSE]})
    assert "LabelSelector" not in str(found) and "field is immutable" in str(found)
    assert isinstance(found, Immutable)
