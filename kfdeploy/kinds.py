"""What kfdeploy knows about each kind of Kubernetes object, in one table.

One row per (group, kind): its plural, where it ranks in apply order, whether it is
cluster-scoped, where its pod template is and how its pods are selected and counted, how the
engine waits for it, which health rule judges it, which immutable-field rules apply, how a
recreate treats it and its children, what protects it from prune, and how render checks, scales
and rewrites it. Every module that treats kinds differently reads this table; nothing else keeps a
list of kinds (tests/unit/test_kinds_guard.py keeps that true). Kubernetes' own kinds
(``KUBERNETES_KINDS``) are apart from those of the components kfdeploy installs
(``PRODUCT_KINDS``); a spec adds rows for its own custom resources (``extend``, from
``spec.kinds``).

Kinds are matched with their group: ``serving.knative.dev`` ``Service`` is not the core Service.
A kind that is not in the table (a custom resource) gets ``CUSTOM_RESOURCE``: namespaced unless
its CRD says otherwise, ranked after Services and before workloads, and waited on through the
generic health chain (``Ready`` condition, ``observedGeneration``).

The table lives at the top of the package, beside the pipeline rather than in one stage of it:
render runs before there is a cluster and must not lean on kube/, and kube/ must not reach back
into render. Columns that name behaviour (``health``, ``immutable``, ``protection``) hold the
name of a rule; the rule itself is code in the module that applies it, and a unit test checks
that every name resolves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

Scope = Literal["Namespaced", "Cluster"]
Wait = Literal["exists", "health", "load-balancer"]
"""``exists``: healthy once it exists, never polled. ``health``: polled until its health rule says
Current. ``load-balancer``: polled only when ``spec.type`` is LoadBalancer (a Service)."""
Phase = Literal["first", "resources", "admission"]
"""Apply wave: ``first`` (Namespaces, CRDs: waited Established before anything else),
``resources`` (the rest), ``admission`` (webhook configurations, APIServices: last to apply,
first to delete, so a webhook never intercepts while its backend is missing)."""
PodSelector = Literal["", "required", "generated"]
"""How a workload finds its pods: ``required`` (the source's ``spec.selector`` must select the pod
template), ``generated`` (the API server writes the selector: Jobs); '' for no pods of its own."""
Protection = Literal["", "data", "custom-resources", "foreign-objects"]
"""Why prune keeps an owned object unless a flag says otherwise (see kube.prune)."""
PodCount = Literal["", "replicas", "parallelism", "one", "per-node"]
"""How many pods a workload asks for (preflight's capacity check): ``spec.replicas``, a Job's
``parallelism`` (capped by ``completions``), one (a Pod), or one per eligible node (a DaemonSet)."""
Images = Literal["fields", "config", "none"]
"""Where image references are looked for: every field, also inside ``data`` values (a
ConfigMap's configuration files), or nowhere (a CRD's schema, a Secret's values)."""
NameFormat = Literal["subdomain", "label", "dns-1035", "path-segment"]
"""What ``metadata.name`` must be: a DNS subdomain (most kinds), a DNS label (Namespace), a
DNS-1035 label (Service), or a path segment (RBAC)."""


@dataclass(frozen=True)
class KindRule:
    group: str
    kind: str
    plural: str
    rank: int
    scope: Scope = "Namespaced"
    phase: Phase = "resources"
    pod_template: tuple[str, ...] | None = None  # path to the pod template; () is the object itself
    pods: PodSelector = ""
    wait: Wait = "exists"
    health: str = ""  # a rule in kube.health.RULES; '' means the generic chain
    immutable: str = ""  # a rule set in kube.immutable.RULES; '' means none
    protection: Protection = ""
    derived: bool = False  # records the cluster derives from other objects (Events, Endpoints)
    scalable: bool = False  # ``spec.replicas`` sets its pod count (the ``replicas`` source option)
    pod_count: PodCount = ""
    orphans: tuple[str, str] | None = None  # (apiVersion, kind) of the children a recreate orphans
    named_children: bool = False  # its children's names are fixed (a StatefulSet's pods)
    never_recreate: str = ""  # why kfdeploy never deletes it to recreate it
    template_immutable: bool = False  # the API server refuses any change to its pod template
    auto_created: tuple[str, ...] = ()  # names the cluster creates of it in every namespace
    images: Images = "fields"
    masked: bool = False  # its values are secrets: masked in every diff, never shown
    generated_names: bool = False  # kustomize generators suffix its name with a content hash
    name_format: NameFormat = "subdomain"

    @property
    def group_kind(self) -> tuple[str, str]:
        return self.group, self.kind


CUSTOM_RESOURCE_RANK = 120
CUSTOM_RESOURCE = KindRule("", "", "", CUSTOM_RESOURCE_RANK, wait="health")

_APPS, _BATCH, _RBAC = "apps", "batch", "rbac.authorization.k8s.io"
_ADMISSION, _STORAGE = "admissionregistration.k8s.io", "storage.k8s.io"
_TEMPLATE = ("spec", "template")

KUBERNETES_KINDS: tuple[KindRule, ...] = (
    KindRule("", "Namespace", "namespaces", 10, "Cluster", "first", health="namespace",
             protection="foreign-objects", name_format="label"),
    KindRule("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", 20, "Cluster",
             "first", wait="health", health="crd", immutable="crd", protection="custom-resources",
             never_recreate="deleting a CRD deletes every custom resource of it", images="none"),
    KindRule("scheduling.k8s.io", "PriorityClass", "priorityclasses", 30, "Cluster", immutable="priorityclass"),
    KindRule(_STORAGE, "StorageClass", "storageclasses", 30, "Cluster", immutable="storageclass"),
    KindRule("networking.k8s.io", "IngressClass", "ingressclasses", 30, "Cluster", immutable="ingressclass"),
    KindRule("node.k8s.io", "RuntimeClass", "runtimeclasses", 30, "Cluster"),
    KindRule("", "ServiceAccount", "serviceaccounts", 40, auto_created=("default",)),
    KindRule(_RBAC, "ClusterRole", "clusterroles", 50, "Cluster", name_format="path-segment"),
    KindRule(_RBAC, "ClusterRoleBinding", "clusterrolebindings", 60, "Cluster", immutable="binding",
             name_format="path-segment"),
    KindRule(_RBAC, "Role", "roles", 70, name_format="path-segment"),
    KindRule(_RBAC, "RoleBinding", "rolebindings", 80, immutable="binding", name_format="path-segment"),
    KindRule("", "ConfigMap", "configmaps", 90, immutable="configmap", auto_created=("kube-root-ca.crt",),
             images="config", generated_names=True),
    KindRule("", "Secret", "secrets", 90, immutable="secret", images="none", masked=True, generated_names=True),
    KindRule("", "PersistentVolume", "persistentvolumes", 100, "Cluster"),
    KindRule("", "PersistentVolumeClaim", "persistentvolumeclaims", 101, wait="health", health="pvc",
             immutable="pvc", protection="data", never_recreate="deleting a PersistentVolumeClaim deletes its data"),
    KindRule("", "Service", "services", 110, wait="load-balancer", health="service", immutable="service",
             name_format="dns-1035"),
    KindRule(_APPS, "Deployment", "deployments", 130, pod_template=_TEMPLATE, pods="required", wait="health",
             health="deployment", immutable="selector", scalable=True, pod_count="replicas",
             orphans=("apps/v1", "ReplicaSet")),
    KindRule(_APPS, "StatefulSet", "statefulsets", 130, pod_template=_TEMPLATE, pods="required", wait="health",
             health="statefulset", immutable="statefulset", scalable=True, pod_count="replicas",
             orphans=("v1", "Pod"), named_children=True),
    KindRule(_APPS, "DaemonSet", "daemonsets", 130, pod_template=_TEMPLATE, pods="required", wait="health",
             health="daemonset", immutable="selector", pod_count="per-node", orphans=("v1", "Pod")),
    KindRule(_APPS, "ReplicaSet", "replicasets", 130, pod_template=_TEMPLATE, pods="required", wait="health",
             health="replicaset", immutable="selector", scalable=True, pod_count="replicas", orphans=("v1", "Pod")),
    KindRule("", "ReplicationController", "replicationcontrollers", 130, pod_template=_TEMPLATE, scalable=True,
             pod_count="replicas"),
    KindRule("", "Pod", "pods", 130, pod_template=(), wait="health", health="pod", pod_count="one"),
    KindRule(_BATCH, "Job", "jobs", 130, pod_template=_TEMPLATE, pods="generated", wait="health", health="job",
             immutable="job", pod_count="parallelism", template_immutable=True),
    KindRule(_BATCH, "CronJob", "cronjobs", 130, pod_template=("spec", "jobTemplate", "spec", "template"),
             pod_count="parallelism"),
    KindRule("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", 130),
    KindRule("policy", "PodDisruptionBudget", "poddisruptionbudgets", 130),
    KindRule("networking.k8s.io", "Ingress", "ingresses", 130),
    KindRule("networking.k8s.io", "NetworkPolicy", "networkpolicies", 130),
    KindRule(_ADMISSION, "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", 140, "Cluster",
             "admission"),
    KindRule(_ADMISSION, "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", 150, "Cluster",
             "admission"),
    KindRule("apiregistration.k8s.io", "APIService", "apiservices", 160, "Cluster", "admission", wait="health",
             health="apiservice"),
    # Built-in kinds applied among custom resources, listed for their scope.
    KindRule("", "Node", "nodes", CUSTOM_RESOURCE_RANK, "Cluster"),
    KindRule(_ADMISSION, "ValidatingAdmissionPolicy", "validatingadmissionpolicies", CUSTOM_RESOURCE_RANK,
             "Cluster"),
    KindRule(_ADMISSION, "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings",
             CUSTOM_RESOURCE_RANK, "Cluster"),
    KindRule(_STORAGE, "CSIDriver", "csidrivers", CUSTOM_RESOURCE_RANK, "Cluster"),
    KindRule(_STORAGE, "CSINode", "csinodes", CUSTOM_RESOURCE_RANK, "Cluster"),
    KindRule(_STORAGE, "VolumeAttachment", "volumeattachments", CUSTOM_RESOURCE_RANK, "Cluster"),
    KindRule("certificates.k8s.io", "CertificateSigningRequest", "certificatesigningrequests",
             CUSTOM_RESOURCE_RANK, "Cluster"),
    KindRule("flowcontrol.apiserver.k8s.io", "FlowSchema", "flowschemas", CUSTOM_RESOURCE_RANK, "Cluster"),
    KindRule("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", "prioritylevelconfigurations",
             CUSTOM_RESOURCE_RANK, "Cluster"),
    # Records the cluster derives from other objects: nobody's data (prune never counts them).
    KindRule("", "Event", "events", CUSTOM_RESOURCE_RANK, derived=True),
    KindRule("events.k8s.io", "Event", "events", CUSTOM_RESOURCE_RANK, derived=True),
    KindRule("", "Endpoints", "endpoints", CUSTOM_RESOURCE_RANK, derived=True),
    KindRule("discovery.k8s.io", "EndpointSlice", "endpointslices", CUSTOM_RESOURCE_RANK, derived=True),
    KindRule("coordination.k8s.io", "Lease", "leases", CUSTOM_RESOURCE_RANK, derived=True),
    KindRule("metrics.k8s.io", "PodMetrics", "pods", CUSTOM_RESOURCE_RANK, derived=True),
    KindRule("metrics.k8s.io", "NodeMetrics", "nodes", CUSTOM_RESOURCE_RANK, "Cluster", derived=True),
)
"""Kubernetes' own kinds: the generic rules."""

PRODUCT_KINDS: tuple[KindRule, ...] = (
    # Custom resources whose controller reports readiness only through a Ready condition: until
    # it is there and True they are not ready (the generic chain would call them ready at once).
    KindRule("serving.knative.dev", "Service", "services", CUSTOM_RESOURCE_RANK, wait="health", health="ready"),
    KindRule("serving.knative.dev", "Route", "routes", CUSTOM_RESOURCE_RANK, wait="health", health="ready"),
    KindRule("serving.knative.dev", "Configuration", "configurations", CUSTOM_RESOURCE_RANK, wait="health",
             health="ready"),
    # Cluster-scoped custom resources of the component library, so that rendering a subset of
    # the applications (show -a) scopes them exactly as a full render, which sees their CRDs.
    KindRule("cert-manager.io", "ClusterIssuer", "clusterissuers", CUSTOM_RESOURCE_RANK, "Cluster", wait="health"),
    KindRule("kubeflow.org", "Profile", "profiles", CUSTOM_RESOURCE_RANK, "Cluster", wait="health"),
    KindRule("argoproj.io", "ClusterWorkflowTemplate", "clusterworkflowtemplates", CUSTOM_RESOURCE_RANK,
             "Cluster", wait="health"),
    KindRule("metacontroller.k8s.io", "CompositeController", "compositecontrollers", CUSTOM_RESOURCE_RANK,
             "Cluster", wait="health"),
    KindRule("metacontroller.k8s.io", "DecoratorController", "decoratorcontrollers", CUSTOM_RESOURCE_RANK,
             "Cluster", wait="health"),
    KindRule("serving.kserve.io", "ClusterServingRuntime", "clusterservingruntimes", CUSTOM_RESOURCE_RANK,
             "Cluster", wait="health"),
    KindRule("serving.kserve.io", "ClusterStorageContainer", "clusterstoragecontainers", CUSTOM_RESOURCE_RANK,
             "Cluster", wait="health"),
    KindRule("serving.kserve.io", "LocalModelCache", "localmodelcaches", CUSTOM_RESOURCE_RANK, "Cluster",
             wait="health"),
)
"""Custom resources of the components kfdeploy installs, with what the generic chain cannot guess."""

KINDS: tuple[KindRule, ...] = KUBERNETES_KINDS + PRODUCT_KINDS
BUILTIN_KINDS = frozenset(r.group_kind for r in KUBERNETES_KINDS)
BY_GROUP_KIND: Mapping[tuple[str, str], KindRule] = {r.group_kind: r for r in KINDS}


def api_group(api_version: str) -> str:
    """The group of an apiVersion: "apps/v1" -> "apps", "v1" -> "" (the core group)."""
    return api_version.rpartition("/")[0]


_EXTENSION: dict[tuple[str, str], KindRule] = {}
"""Rows a spec adds for its own custom resources (``spec.kinds``), ahead of the product rows."""


def extension_rule(group: str, kind: str, *, wait: Wait, health: str, protection: Protection) -> KindRule:
    """The row of a custom resource as a spec describes it: ranked and scoped like any custom
    resource, with the spec's wait, health rule and prune protection."""
    return KindRule(group, kind, "", CUSTOM_RESOURCE_RANK, wait=wait, health=health, protection=protection)


def extend(rules: Iterable[KindRule]) -> None:
    """Make ``rules`` (a spec's own kinds) part of the table for this run; a built-in Kubernetes
    kind cannot be redefined (the spec's validation says so first)."""
    rows = {r.group_kind: r for r in rules}
    clash = sorted(f"{k}.{g}" for g, k in rows if (g, k) in BUILTIN_KINDS)
    if clash:
        raise ValueError(f"built-in kinds cannot be redefined: {', '.join(clash)}")
    _EXTENSION.clear()
    _EXTENSION.update(rows)


@contextmanager
def extended(rules: Iterable[KindRule]) -> Iterator[None]:
    """The table with ``rules`` added while the block runs (a run, a test), as it was after."""
    before = dict(_EXTENSION)
    extend(rules)
    try:
        yield
    finally:
        _EXTENSION.clear()
        _EXTENSION.update(before)


def rule_for(group: str, kind: str) -> KindRule:
    """The row of (group, kind): a spec's own row, else the table's; custom resources that
    neither names get ``CUSTOM_RESOURCE``."""
    return _EXTENSION.get((group, kind)) or BY_GROUP_KIND.get((group, kind), CUSTOM_RESOURCE)


def rule_of(obj: Mapping[str, Any]) -> KindRule:
    """The row of an object, by its apiVersion's group and its kind."""
    return rule_for(api_group(str(obj.get("apiVersion") or "")), str(obj.get("kind") or ""))


def group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    return api_group(str(obj.get("apiVersion") or "")), str(obj.get("kind") or "")


def kinds_where(**column: Any) -> frozenset[tuple[str, str]]:
    """(group, kind) of every row whose columns have these values: ``kinds_where(scope="Cluster")``."""
    return frozenset(r.group_kind for r in KINDS if all(getattr(r, k) == v for k, v in column.items()))


def pod_template(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """An object's pod template (the object itself for a Pod), or None when it has none."""
    path = rule_of(obj).pod_template
    if path is None:
        return None
    value: Any = obj
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else None


def workload_spec(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The spec that holds a workload's pod template and its counts (``replicas``,
    ``parallelism``): the object's own spec, a CronJob's job spec; None without a pod template."""
    path = rule_of(obj).pod_template
    if not path:
        return None
    value: Any = obj
    for part in path[:-1]:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value if isinstance(value, Mapping) else None


CLUSTER_SCOPED = kinds_where(scope="Cluster")
WEBHOOK_KINDS = frozenset({(_ADMISSION, "MutatingWebhookConfiguration"),
                           (_ADMISSION, "ValidatingWebhookConfiguration")})
DERIVED = kinds_where(derived=True)

# Single kinds the code names for what they are (the objects it builds or reads by identity),
# not for a rule: a rule about kinds is a column above.
NAMESPACE = ("", "Namespace")
CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")
SERVICE = ("", "Service")
SECRET = ("", "Secret")
CONFIG_MAP = ("", "ConfigMap")
POD = ("", "Pod")
PVC = ("", "PersistentVolumeClaim")
STATEFULSET = (_APPS, "StatefulSet")
STORAGE_CLASS = (_STORAGE, "StorageClass")
API_SERVICE = ("apiregistration.k8s.io", "APIService")
CLUSTER_ROLE = ("rbac.authorization.k8s.io", "ClusterRole")
HPA = ("autoscaling", "HorizontalPodAutoscaler")
SCALABLE = kinds_where(scalable=True)
