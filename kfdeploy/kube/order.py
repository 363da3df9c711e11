"""Apply and delete ordering of Kubernetes objects.

The rules are data: one table maps each kind to a rank, so reading the table is reading the order.
Objects must exist before the things that reference them (a Namespace before its contents, a CRD
before its custom resources, RBAC before the workloads that use it), and admission webhooks go last
so that a webhook whose backend is not yet running cannot block the creation of that backend.
"""

from __future__ import annotations

from typing import Any

# Rank of custom resources (kinds not in the table). They sit after Services and before
# workloads: their CRD is created in an earlier wave, and webhook configurations that could
# intercept them are applied only at the very end.
CUSTOM_RESOURCE_RANK = 120

# (kinds, rank). Lower rank is applied first.
_KIND_RANKS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("Namespace",), 10),
    (("CustomResourceDefinition",), 20),
    (("PriorityClass", "StorageClass", "IngressClass", "RuntimeClass"), 30),
    (("ServiceAccount",), 40),
    (("ClusterRole",), 50),
    (("ClusterRoleBinding",), 60),
    (("Role",), 70),
    (("RoleBinding",), 80),
    (("ConfigMap", "Secret"), 90),
    (("PersistentVolume",), 100),
    (("PersistentVolumeClaim",), 101),
    (("Service",), 110),
    # CUSTOM_RESOURCE_RANK = 120
    (
        (
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "Pod",
            "Job",
            "CronJob",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "Ingress",
            "NetworkPolicy",
        ),
        130,
    ),
    (("MutatingWebhookConfiguration",), 140),
    (("ValidatingWebhookConfiguration",), 150),
    (("APIService",), 160),
)

KIND_RANK: dict[str, int] = {kind: rank for kinds, rank in _KIND_RANKS for kind in kinds}


def kind_rank(kind: str, api_version: str = "") -> int:
    """Rank of a kind in apply order; unknown kinds are custom resources.

    ``api_version`` is accepted so a custom resource that reuses a built-in kind name
    (e.g. ``Deployment`` in some ``example.com`` group) could be told apart later; today
    the kind alone decides.
    """
    del api_version
    return KIND_RANK.get(kind, CUSTOM_RESOURCE_RANK)


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def sort_objects(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects in apply order: stable by (rank, namespace, name)."""
    return sorted(
        objs,
        key=lambda o: (
            kind_rank(str(o.get("kind", "")), str(o.get("apiVersion", ""))),
            str(_meta(o).get("namespace") or ""),
            str(_meta(o).get("name") or ""),
        ),
    )
