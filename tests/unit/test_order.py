"""Ordering rules: kind ranks, apply/delete order, waves, webhook gates."""

from __future__ import annotations

from typing import Any

import pytest

from kfdeploy.kube.order import (
    CUSTOM_RESOURCE_RANK,
    apply_waves,
    delete_order,
    kind_rank,
    resource_for,
    sort_objects,
    webhook_gates,
    webhook_services,
)
from kfdeploy.objects import describe


def obj(kind: str, name: str, namespace: str = "", api_version: str = "v1", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if "labels" in extra:
        meta["labels"] = extra.pop("labels")
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **extra}


def crd(group: str, kind: str, plural: str) -> dict[str, Any]:
    return obj(
        "CustomResourceDefinition",
        f"{plural}.{group}",
        api_version="apiextensions.k8s.io/v1",
        spec={"group": group, "names": {"kind": kind, "plural": plural}, "scope": "Namespaced"},
    )


def webhook(
    kind: str,
    service: tuple[str, str],
    rules: list[dict[str, Any]],
    **hook_extra: Any,
) -> dict[str, Any]:
    hook = {
        "name": "hook.example.com",
        "clientConfig": {"service": {"namespace": service[0], "name": service[1]}},
        "rules": rules,
        **hook_extra,
    }
    return obj(kind, "hooks", api_version="admissionregistration.k8s.io/v1", webhooks=[hook])


def rule(groups: list[str], resources: list[str], ops: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "apiGroups": groups,
        "apiVersions": ["*"],
        "resources": resources,
        "operations": ops or ["CREATE", "UPDATE"],
        **extra,
    }


# --- kind ranks and sorting ------------------------------------------------------------------

RANK_CHAIN = [
    "Namespace",
    "CustomResourceDefinition",
    "StorageClass",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Service",
    "Notebook",  # a custom resource
    "Deployment",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
]


# The apiVersion of each kind named in these tests (kinds are ranked with their group).
API_VERSIONS = {
    "CustomResourceDefinition": "apiextensions.k8s.io/v1", "StorageClass": "storage.k8s.io/v1",
    "PriorityClass": "scheduling.k8s.io/v1", "IngressClass": "networking.k8s.io/v1",
    "RuntimeClass": "node.k8s.io/v1", "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1", "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1", "Notebook": "kubeflow.org/v1", "Deployment": "apps/v1",
    "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1",
    "Ingress": "networking.k8s.io/v1", "NetworkPolicy": "networking.k8s.io/v1",
    "MutatingWebhookConfiguration": "admissionregistration.k8s.io/v1",
    "ValidatingWebhookConfiguration": "admissionregistration.k8s.io/v1",
    "APIService": "apiregistration.k8s.io/v1",
}


def rank(kind: str) -> int:
    return kind_rank(kind, API_VERSIONS.get(kind, "v1"))


@pytest.mark.parametrize("before,after", list(zip(RANK_CHAIN, RANK_CHAIN[1:], strict=False)), ids=lambda k: k)
def test_kind_rank_chain(before: str, after: str) -> None:
    assert rank(before) < rank(after)


@pytest.mark.parametrize(
    "same",
    [
        ("PriorityClass", "StorageClass", "IngressClass", "RuntimeClass"),
        ("ConfigMap", "Secret"),
        ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Ingress", "NetworkPolicy", "Pod"),
    ],
    ids=["cluster-classes", "config", "workloads"],
)
def test_kind_rank_groups(same: tuple[str, ...]) -> None:
    assert len({rank(k) for k in same}) == 1


@pytest.mark.parametrize(
    "kind,api_version,rank",
    [
        ("Service", "v1", 110),
        ("Service", "serving.knative.dev/v1", CUSTOM_RESOURCE_RANK),
        ("Deployment", "apps/v1", 130),
        ("Deployment", "example.com/v1", CUSTOM_RESOURCE_RANK),
        ("Ingress", "networking.k8s.io/v1", 130),
        ("ClusterRole", "rbac.authorization.k8s.io/v1", 50),
        ("Notebook", "kubeflow.org/v1", CUSTOM_RESOURCE_RANK),
    ],
    ids=["core-service", "knative-service", "apps-deployment", "custom-deployment-kind", "ingress", "rbac", "cr"],
)
def test_kind_rank_matches_the_group(kind: str, api_version: str, rank: int) -> None:
    assert kind_rank(kind, api_version) == rank


def test_sort_objects_is_stable_by_rank_namespace_name() -> None:
    objs = [
        obj("Deployment", "b", "ns2", "apps/v1"),
        obj("Deployment", "a", "ns2", "apps/v1"),
        obj("Deployment", "z", "ns1", "apps/v1"),
        obj("Service", "svc", "ns2"),
        obj("Namespace", "ns2"),
        obj("Notebook", "nb", "ns1", "kubeflow.org/v1"),
    ]
    assert [describe(o) for o in sort_objects(objs)] == [
        "Namespace/ns2",
        "Service/ns2/svc",
        "Notebook.kubeflow.org/ns1/nb",
        "Deployment/ns1/z",
        "Deployment/ns2/a",
        "Deployment/ns2/b",
    ]


def test_delete_order_puts_admission_first_then_reverse() -> None:
    objs = [
        obj("Namespace", "kf"),
        obj("CustomResourceDefinition", "nb.kubeflow.org", api_version="apiextensions.k8s.io/v1"),
        obj("Deployment", "ctl", "kf", "apps/v1"),
        obj("Notebook", "nb", "kf", "kubeflow.org/v1"),
        obj("ValidatingWebhookConfiguration", "v", api_version="admissionregistration.k8s.io/v1"),
        obj("MutatingWebhookConfiguration", "m", api_version="admissionregistration.k8s.io/v1"),
        obj("APIService", "v1beta1.metrics.k8s.io", api_version="apiregistration.k8s.io/v1"),
        obj("Service", "ctl", "kf"),
    ]
    assert [o["kind"] for o in delete_order(objs)] == [
        "APIService",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "Deployment",
        "Notebook",
        "Service",
        "CustomResourceDefinition",
        "Namespace",
    ]


# --- resource plurals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "group,kind,plural",
    [
        ("", "Pod", "pods"),
        ("apps", "Deployment", "deployments"),
        ("networking.k8s.io", "NetworkPolicy", "networkpolicies"),
        ("networking.k8s.io", "Ingress", "ingresses"),
        ("networking.k8s.io", "IngressClass", "ingressclasses"),
        ("", "Endpoints", "endpoints"),
        ("metrics.k8s.io", "PodMetrics", "pods"),
        # Kinds nobody knows (not in the table, no CRD, no discovery): English rules.
        ("gateway.networking.k8s.io", "Gateway", "gateways"),
        ("example.com", "Mesh", "meshes"),
        ("example.com", "Box", "boxes"),
        ("example.com", "Policy", "policies"),
    ],
    ids=lambda v: v,
)
def test_resource_for(group: str, kind: str, plural: str) -> None:
    assert resource_for(group, kind) == plural


def test_resource_for_prefers_given_plurals_of_the_same_group() -> None:
    known = {("example.com", "Policy"): "policys"}
    assert resource_for("example.com", "Policy", known) == "policys"
    assert resource_for("other.example.com", "Policy", known) == "policies"


# --- waves -----------------------------------------------------------------------------------

NOTEBOOK_CRD = crd("kubeflow.org", "Notebook", "notebooks")
WAVE_OBJS = [
    obj("Notebook", "nb", "kf", "kubeflow.org/v1"),
    obj("Certificate", "cert", "kf", "cert-manager.io/v1"),
    obj("Deployment", "ctl", "kf", "apps/v1"),
    NOTEBOOK_CRD,
    obj("Namespace", "kf"),
    obj("ServiceAccount", "ctl", "kf"),
    obj("Service", "ctl", "kf"),
    webhook("ValidatingWebhookConfiguration", ("kf", "ctl"), [rule(["kubeflow.org"], ["notebooks"])]),
]


def _wave_summary(objs: list[dict[str, Any]], in_cluster: set[tuple[str, str]]) -> list[tuple[str, str, list[str]]]:
    return [(w.name, w.wait_for, [describe(o) for o in w.objects]) for w in apply_waves(objs, in_cluster)]


@pytest.mark.parametrize(
    "objs,in_cluster,expected",
    [
        (
            WAVE_OBJS,
            set(),
            [
                (
                    "namespaces-and-crds",
                    "established",
                    ["Namespace/kf", "CustomResourceDefinition/notebooks.kubeflow.org"],
                ),
                (
                    "resources",
                    "ready_endpoints",
                    ["ServiceAccount/kf/ctl", "Service/kf/ctl", "Certificate.cert-manager.io/kf/cert", "Deployment/kf/ctl"],
                ),
                ("custom-resources", "none", ["Notebook.kubeflow.org/kf/nb"]),
                ("admission", "none", ["ValidatingWebhookConfiguration/hooks"]),
            ],
        ),
        (
            WAVE_OBJS,
            {("kubeflow.org", "Notebook")},
            [
                (
                    "namespaces-and-crds",
                    "established",
                    ["Namespace/kf", "CustomResourceDefinition/notebooks.kubeflow.org"],
                ),
                (
                    "resources",
                    "ready_endpoints",
                    [
                        "ServiceAccount/kf/ctl",
                        "Service/kf/ctl",
                        "Certificate.cert-manager.io/kf/cert",
                        "Notebook.kubeflow.org/kf/nb",
                        "Deployment/kf/ctl",
                    ],
                ),
                ("admission", "none", ["ValidatingWebhookConfiguration/hooks"]),
            ],
        ),
        (
            [obj("Namespace", "kf"), obj("ConfigMap", "c", "kf")],
            set(),
            [("namespaces-and-crds", "none", ["Namespace/kf"]), ("resources", "none", ["ConfigMap/kf/c"])],
        ),
        ([], set(), []),
    ],
    ids=["fresh-install", "crd-already-in-cluster", "no-crds-no-webhooks", "empty"],
)
def test_apply_waves(
    objs: list[dict[str, Any]], in_cluster: set[tuple[str, str]], expected: list[tuple[str, str, list[str]]]
) -> None:
    assert _wave_summary(objs, in_cluster) == expected


# --- webhook gates ---------------------------------------------------------------------------

SVC = ("", "Service", "kf", "ctl")


def _backend() -> list[dict[str, Any]]:
    return [
        obj("Service", "ctl", "kf", spec={"selector": {"app": "ctl"}}),
        obj(
            "Deployment",
            "ctl",
            "kf",
            "apps/v1",
            spec={"template": {"metadata": {"labels": {"app": "ctl", "tier": "web"}}}},
        ),
    ]


GATE_CASES: list[tuple[str, list[dict[str, Any]], dict[Any, list[Any]]]] = [
    (
        "crd-resource-via-crd-plural",
        [
            NOTEBOOK_CRD,
            obj("Notebook", "nb", "kf", "kubeflow.org/v1"),
            webhook("MutatingWebhookConfiguration", ("kf", "ctl"), [rule(["kubeflow.org"], ["notebooks"])]),
        ],
        {("kubeflow.org", "Notebook", "kf", "nb"): [SVC]},
    ),
    (
        "update-only-rule-does-not-gate",
        [
            obj("ConfigMap", "c", "kf"),
            webhook("ValidatingWebhookConfiguration", ("kf", "ctl"), [rule([""], ["configmaps"], ["UPDATE"])]),
        ],
        {},
    ),
    (
        "wildcards-gate-everything-but-backend-and-webhooks",
        [
            *_backend(),
            obj("ConfigMap", "c", "kf"),
            obj("Namespace", "kf"),
            webhook("ValidatingWebhookConfiguration", ("kf", "ctl"), [rule(["*"], ["*"], ["*"])]),
        ],
        {("", "ConfigMap", "kf", "c"): [SVC], ("", "Namespace", "", "kf"): [SVC]},
    ),
    (
        "scope-namespaced-skips-cluster-objects",
        [
            obj("ConfigMap", "c", "kf"),
            obj("ClusterRole", "r", api_version="rbac.authorization.k8s.io/v1"),
            webhook("ValidatingWebhookConfiguration", ("kf", "ctl"), [rule(["*"], ["*"], scope="Namespaced")]),
        ],
        {("", "ConfigMap", "kf", "c"): [SVC]},
    ),
    (
        "namespace-selector-by-known-namespace-labels",
        [
            obj("Namespace", "injected", labels={"istio-injection": "enabled"}),
            obj("Namespace", "plain"),
            obj("Pod", "a", "injected"),
            obj("Pod", "b", "plain"),
            obj("Pod", "c", "unknown-ns"),
            webhook(
                "MutatingWebhookConfiguration",
                ("kf", "ctl"),
                [rule([""], ["pods"])],
                namespaceSelector={"matchLabels": {"istio-injection": "enabled"}},
            ),
        ],
        {
            ("", "Namespace", "", "injected"): [],
            ("", "Pod", "injected", "a"): [SVC],
            ("", "Pod", "unknown-ns", "c"): [SVC],
        },
    ),
    (
        "object-selector-expressions",
        [
            obj("Pod", "opted-out", "kf", labels={"sidecar": "false"}),
            obj("Pod", "plain", "kf"),
            webhook(
                "MutatingWebhookConfiguration",
                ("kf", "ctl"),
                [rule([""], ["pods"])],
                objectSelector={"matchExpressions": [{"key": "sidecar", "operator": "NotIn", "values": ["false"]}]},
            ),
        ],
        {("", "Pod", "kf", "plain"): [SVC]},
    ),
    (
        "subresource-rule-does-not-gate-create",
        [
            obj("Deployment", "d", "kf", "apps/v1"),
            webhook("ValidatingWebhookConfiguration", ("kf", "ctl"), [rule(["apps"], ["deployments/scale"])]),
        ],
        {},
    ),
    (
        "url-webhook-has-no-service-to-wait-for",
        [
            obj("ConfigMap", "c", "kf"),
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": "ext"},
                "webhooks": [{"name": "x", "clientConfig": {"url": "https://x"}, "rules": [rule(["*"], ["*"])]}],
            },
        ],
        {},
    ),
]


@pytest.mark.parametrize("objs,expected", [c[1:] for c in GATE_CASES], ids=[c[0] for c in GATE_CASES])
def test_webhook_gates(objs: list[dict[str, Any]], expected: dict[Any, list[Any]]) -> None:
    expected = {k: v for k, v in expected.items() if v}
    assert webhook_gates(objs) == expected


def test_webhook_gates_with_given_configs_and_namespace_labels() -> None:
    hooks = [
        webhook(
            "MutatingWebhookConfiguration",
            ("istio-system", "istiod"),
            [rule([""], ["pods"])],
            namespaceSelector={"matchLabels": {"istio-injection": "enabled"}},
        )
    ]
    objs = [obj("Pod", "a", "kubeflow"), obj("Pod", "b", "other")]
    gates = webhook_gates(objs, hooks, namespace_labels={"kubeflow": {"istio-injection": "enabled"}, "other": {}})
    assert gates == {("", "Pod", "kubeflow", "a"): [("", "Service", "istio-system", "istiod")]}
    assert webhook_services(hooks) == [("", "Service", "istio-system", "istiod")]
