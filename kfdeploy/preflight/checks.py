"""The cluster checks, one small function each, listed in ``CLUSTER_CHECKS`` in the order they run.

Each reads the cluster through the project's one client and returns findings; a check that
cannot get its answer (a 403, a timeout) fails closed: FAIL saying what could not be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kfdeploy import kubeversion
from kfdeploy.errors import KfdeployError
from kfdeploy.findings import Finding, fail, ok, warn
from kfdeploy.kinds import CRD, PVC, STATEFULSET, STORAGE_CLASS, group_kind
from kfdeploy.kube.client import FIELD_MANAGER, Cluster, KubeApiError
from kfdeploy.kube.inventory import NAMESPACE
from kfdeploy.kube.order import WEBHOOK_KINDS, webhook_gates
from kfdeploy.kube.wait import endpoints_ready
from kfdeploy.labels import APPLYSET_ID, MANAGED_BY, PART_OF
from kfdeploy.objects import describe, object_key
from kfdeploy.preflight import capacity, pod_security

Obj = dict[str, Any]
DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")
HELM_RELEASE = ("meta.helm.sh/release-namespace", "meta.helm.sh/release-name")
ADMISSION = "admissionregistration.k8s.io/v1"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


@dataclass(frozen=True)
class Inputs:
    """What the checks know about the spec: the rendered applications and the ownership id."""

    applications: list[tuple[str, list[Obj]]]
    kube_versions: dict[str, str]  # application -> kubeVersion constraint
    applyset_id: str
    force_conflicts: bool = False
    pools: tuple[capacity.PoolTemplate, ...] = ()  # nodes an autoscaler may add

    @property
    def objects(self) -> list[Obj]:
        return [o for _, objs in self.applications for o in objs]

    def owner_of(self, key: tuple[str, str, str, str]) -> str:
        return next((app for app, objs in self.applications for o in objs if object_key(o) == key), "")


Check = Callable[[Cluster, Inputs], list[Finding]]


# --- version -------------------------------------------------------------------------------

def check_version(cluster: Cluster, inputs: Inputs) -> list[Finding]:
    version = str(cluster.version().get("gitVersion", ""))
    wrong = [(app, c) for app, c in inputs.kube_versions.items() if c and not kubeversion.satisfies(version, c)]
    if wrong:
        return [fail("version", f"application {app}", f"supports Kubernetes {c}; the cluster runs {version}",
                     "upgrade the cluster (or use a kfdeploy release whose library supports it)") for app, c in wrong]
    declared = sum(1 for c in inputs.kube_versions.values() if c)
    return [ok("version", "cluster", f"reachable, Kubernetes {version}; within the supported range of "
               f"{declared} application(s) that declare one")]


# --- capacity ------------------------------------------------------------------------------

def check_capacity(cluster: Cluster, inputs: Inputs) -> list[Finding]:
    groups = capacity.pod_groups(inputs.applications)
    nodes = [capacity.Node.of(n) for n in cluster.list("v1", "Node")]
    if not nodes:
        return [fail("capacity", "nodes", "the cluster has no nodes", "add nodes (or node pools) to the cluster")]
    pods = cluster.list("v1", "Pod") if groups else []
    return capacity.check(groups, capacity.with_usage(nodes, pods, groups), inputs.pools)


# --- storage -------------------------------------------------------------------------------

def _claims(objects: Iterable[Obj]) -> list[tuple[str, str, str | None, str]]:
    """(object, namespace, storageClassName or None, name of the PVC it makes) per claim."""
    out = []
    for o in objects:
        meta = o.get("metadata") or {}
        if group_kind(o) == PVC:
            out.append((describe(o), meta.get("namespace", ""), (o.get("spec") or {}).get("storageClassName"),
                        meta.get("name", "")))
        elif group_kind(o) == STATEFULSET:
            for t in (o.get("spec") or {}).get("volumeClaimTemplates") or []:
                name = (t.get("metadata") or {}).get("name", "")
                out.append((f"{describe(o)} volumeClaimTemplate {name}", meta.get("namespace", ""),
                            (t.get("spec") or {}).get("storageClassName"), f"{name}-{meta.get('name')}-0"))
    return out


def _is_default(sc: Obj) -> bool:
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    return any(annotations.get(a) == "true" for a in DEFAULT_CLASS)


def check_storage(cluster: Cluster, inputs: Inputs) -> list[Finding]:
    claims = _claims(inputs.objects)
    if not claims:
        return [ok("storage", "volumes", "the spec renders no PersistentVolumeClaims")]
    classes = {o["metadata"]["name"]: o for o in cluster.list("storage.k8s.io/v1", "StorageClass")}
    classes.update({o["metadata"]["name"]: o for o in inputs.objects if group_kind(o) == STORAGE_CLASS})
    existing = {(p["metadata"].get("namespace", ""), p["metadata"]["name"])
                for p in cluster.list("v1", "PersistentVolumeClaim")}
    defaults = sorted(n for n, sc in classes.items() if _is_default(sc))
    out: list[Finding] = []
    for obj, ns, cls, pvc in claims:
        if (ns, pvc) in existing or cls == "":
            continue  # bound already, or statically bound with no class
        if cls is None and not defaults:
            out.append(fail("storage", obj, "sets no storageClassName and the cluster has no default StorageClass:"
                            " the claim would stay Pending", "mark one default (kubectl annotate storageclass NAME"
                            " storageclass.kubernetes.io/is-default-class=true) or set the application's"
                            " storageClass param"))
        elif cls and cls not in classes:
            out.append(fail("storage", obj, f"asks for StorageClass {cls}, which does not exist"
                            f" (the cluster has: {', '.join(sorted(classes)) or 'none'})",
                            "create that StorageClass or set the application's storageClass param to one that exists"))
    if len(defaults) > 1:
        out.append(warn("storage", "StorageClasses", f"{len(defaults)} are marked default ({', '.join(defaults)});"
                        " Kubernetes picks the newest", "keep the default annotation on one StorageClass"))
    return out or [ok("storage", "volumes", f"{len(claims)} claim(s) have a StorageClass"
                      + (f" (default: {defaults[0]})" if defaults else ""))]


# --- CRD ownership -------------------------------------------------------------------------

def _applyset_owner(cluster: Cluster, set_id: str) -> str:
    try:
        parents = cluster.list("v1", "ConfigMap", namespace=NAMESPACE, label_selector=f"{APPLYSET_ID}={set_id}")
    except KfdeployError:
        parents = []
    name = parents[0]["metadata"]["name"].removeprefix("kfdeploy.") if parents else ""
    return f"KfDef {name} (ApplySet {set_id})" if name else f"ApplySet {set_id}"


def foreign_owner(cluster: Cluster, live: Obj, applyset_id: str) -> str:
    """Who else manages this object, or "" (ours, or nobody's)."""
    meta = live.get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    part_of = labels.get(PART_OF)
    if part_of == applyset_id:
        return ""
    if annotations.get(HELM_RELEASE[1]) or labels.get(MANAGED_BY) == "Helm":
        return f"Helm release {annotations.get(HELM_RELEASE[0], '?')}/{annotations.get(HELM_RELEASE[1], '?')}"
    if part_of:
        return _applyset_owner(cluster, part_of)
    appliers = sorted({m.get("manager", "?") for m in meta.get("managedFields") or []
                       if m.get("operation") == "Apply" and m.get("manager") != FIELD_MANAGER})
    return f"field manager {', '.join(appliers)} (server-side apply)" if appliers else ""


def crd_metadata(cluster: Cluster) -> dict[str, Obj]:
    """name -> metadata-only view of every CRD in the cluster (schemas left out: one small LIST)."""
    return {i["metadata"]["name"]: i for i in cluster.pages(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", accept=METADATA_LIST)}


def check_crds(cluster: Cluster, inputs: Inputs) -> list[Finding]:
    crds = [o for o in inputs.objects if group_kind(o) == CRD]
    live_crds = crd_metadata(cluster) if crds else {}
    out: list[Finding] = []
    for crd in crds:
        live = live_crds.get(crd["metadata"]["name"])
        owner = foreign_owner(cluster, live, inputs.applyset_id) if live else ""
        if not owner:
            continue
        app = inputs.owner_of(object_key(crd))
        what = f"application {app} renders it, but it already belongs to {owner}"
        if inputs.force_conflicts:
            out.append(warn("crds", describe(crd), what + "; --force-conflicts takes it over",
                            "make sure the other tool no longer manages it, or it will fight kfdeploy"))
        else:
            out.append(fail("crds", describe(crd), what, "remove it from the other tool (or uninstall that), disable"
                            f" application {app}, or pass --force-conflicts to take it over"))
    return out or [ok("crds", "CustomResourceDefinitions", f"{len(crds)} rendered, none owned by another tool")]


# --- admission webhooks --------------------------------------------------------------------

def _service_key(hook: Obj) -> tuple[str, str, str, str] | None:
    svc = (hook.get("clientConfig") or {}).get("service")
    return ("", "Service", str(svc.get("namespace") or ""), str(svc["name"])) if isinstance(svc, dict) \
        and svc.get("name") else None


def check_webhooks(cluster: Cluster, inputs: Inputs) -> list[Finding]:
    objects = inputs.objects
    rendered = {object_key(o) for o in objects}
    ns_labels = {n["metadata"]["name"]: n["metadata"].get("labels") or {} for n in cluster.list("v1", "Namespace")}
    out: list[Finding] = []
    seen = 0
    for _, kind in sorted(WEBHOOK_KINDS):
        for config in cluster.list(ADMISSION, kind):
            labels = config["metadata"].get("labels") or {}
            if labels.get(PART_OF) == inputs.applyset_id or object_key(config) in rendered:
                continue
            for hook in config.get("webhooks") or []:
                seen += 1
                finding = _hook_finding(cluster, config, hook, objects, rendered, ns_labels)
                if finding:
                    out.append(finding)
    return out or [ok("webhooks", "admission webhooks", f"{seen} webhook(s) of others; none blocks what the spec"
                      " applies")]


def _hook_finding(cluster: Cluster, config: Obj, hook: Obj, objects: list[Obj],
                  rendered: set[tuple[str, str, str, str]], ns_labels: dict[str, dict[str, str]]) -> Finding | None:
    service = _service_key(hook)
    if service is None or service in rendered:
        return None  # a URL webhook (cannot be probed), or one whose backend the spec brings
    single = {**config, "webhooks": [hook]}
    hit = sorted(webhook_gates(objects, [single], namespace_labels=ns_labels))
    if not hit or endpoints_ready(cluster, service):
        return None
    name = f"{describe(config)} (webhook {hook.get('name')})"
    example = ", ".join(f"{k}/{ns + '/' if ns else ''}{n}" for _, k, ns, n in hit[:3])
    backend = f"its Service {service[2]}/{service[3]} has no ready endpoints"
    if (hook.get("failurePolicy") or "Fail") == "Fail":
        return fail("webhooks", name, f"intercepts {len(hit)} object(s) the spec applies ({example}) with failurePolicy"
                    f" Fail, and {backend}: those writes would be rejected",
                    f"start its backend, delete the stale configuration (kubectl delete {config['kind'].lower()}"
                    f" {config['metadata']['name']}), or set its failurePolicy to Ignore")
    return warn("webhooks", name, f"intercepts {len(hit)} object(s) the spec applies ({example}) and {backend};"
                " failurePolicy Ignore lets the writes through, but apply waits for its backend first",
                "start its backend or delete the stale configuration")


# --- Pod Security admission ---------------------------------------------------------------

def check_pod_security(cluster: Cluster, inputs: Inputs) -> list[Finding]:
    return pod_security.predict(inputs.applications, cluster.list("v1", "Namespace"))


CLUSTER_CHECKS: list[tuple[str, Check]] = [
    ("version", check_version),
    ("capacity", check_capacity),
    ("storage", check_storage),
    ("crds", check_crds),
    ("webhooks", check_webhooks),
    ("pod-security", check_pod_security),
]


def run_checks(cluster: Cluster, inputs: Inputs) -> list[Finding]:
    """Every cluster check; the first, reaching the cluster, stops the rest when it fails."""
    findings: list[Finding] = []
    for name, check in CLUSTER_CHECKS:
        try:
            findings += check(cluster, inputs)
        except KubeApiError as e:
            findings.append(fail(name, "cluster", f"cannot check: {e.message}",
                                 "grant kfdeploy's credentials read access to it, or pass --skip-preflight"))
        except KfdeployError as e:
            findings.append(fail(name, "cluster", f"unreachable: {e.message}", e.hint or "check the kubeconfig"))
            if name == "version":
                break
    return findings
