"""Structural checks over every component in jsonnet/components/, rendered with its defaults.

A Service whose selector matches no pod, a binding to a ServiceAccount nobody creates, a webhook
pointing at a missing Service or a custom resource whose CRD no component ships all render and
even apply without complaint; they only break at run time, and the simulated cluster (kwok)
never runs the containers that would notice. These tests find them from the manifests alone.

Each rule is a pure function from a component's objects to a list of problems, so the rules are
tested on small fixtures here too (``test_rule_catches``), and the table over the library is
discovered at collection time: a component added to the folder is checked without editing this file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kfdeploy.library import load_component
from kfdeploy.render import jsonnet, process
from kfdeploy.render.process import Context

Obj = dict[str, Any]
Rule = Callable[[list[Obj], "Catalog"], list[str]]

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS_DIR = ROOT / "jsonnet" / "components"
JPATH = [ROOT / "jsonnet" / "lib"]
COMPONENTS = sorted(d.name for d in COMPONENTS_DIR.iterdir() if (d / "main.jsonnet").is_file())

# API groups served by a plain kube-apiserver: objects of any other group are custom resources.
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "rbac.authorization.k8s.io", "networking.k8s.io",
    "apiextensions.k8s.io", "admissionregistration.k8s.io", "apiregistration.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io",
    "certificates.k8s.io", "node.k8s.io", "events.k8s.io", "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
})
# Roles every cluster has (bootstrap policy), so binding them needs no object of the component.
BUILTIN_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit", "view"})
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})
RUN_TO_COMPLETION_KINDS = frozenset({"Job", "CronJob"})

# Containers allowed to go without a readiness probe: (component, workload, container) -> why.
# Job/CronJob pods are exempt by kind (they run to completion; readiness means nothing there).
NO_READINESS_PROBE: Mapping[tuple[str, str, str], str] = {
    ("nvidia-device-plugin", "nvidia-device-plugin", "nvidia-device-plugin"):
        "the device plugin serves no HTTP/TCP endpoint upstream; it registers with the kubelet over a socket",
}


@dataclass(frozen=True)
class Pod:
    """A pod template (or bare Pod) and the object that owns it."""

    owner: Obj
    labels: Mapping[str, str]
    spec: Mapping[str, Any]

    @property
    def namespace(self) -> str:
        return str(self.owner["metadata"].get("namespace", ""))

    @property
    def where(self) -> str:
        return describe(self.owner)

    def containers(self, init: bool = True) -> list[Mapping[str, Any]]:
        inits = list(self.spec.get("initContainers") or []) if init else []
        return list(self.spec.get("containers") or []) + inits


@dataclass(frozen=True)
class Catalog:
    """What the whole library ships, for rules that look beyond one component."""

    crd_versions: frozenset[tuple[str, str, str]]  # (group, kind, version) served by some CRD
    namespace_owners: Mapping[str, str] = field(default_factory=dict)  # Namespace name -> component
    depends_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def needs(self, component: str) -> set[str]:
        """``component`` and everything it depends on, transitively."""
        seen: set[str] = set()
        todo = [component]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += self.depends_on.get(name, ())
        return seen


# ---------------------------------------------------------------------------- rendering


@functools.cache
def evaluated(name: str) -> tuple[tuple[Obj, ...], str]:
    """A component's raw objects with default params, and its default namespace."""
    comp = load_component(COMPONENTS_DIR / name)
    params = comp.defaults()
    value = jsonnet.evaluate(comp.main, params, JPATH)
    return tuple(process.extract(value)), str(params.get("namespace") or "kubeflow")


def crds_in(objects: Iterable[Obj]) -> list[Obj]:
    return [o for o in objects if o.get("kind") == "CustomResourceDefinition"]


@functools.cache
def library_crds() -> tuple[Obj, ...]:
    """Every CRD of every component that renders (a broken one fails its own tests)."""
    return tuple(crd for name in renderable() for crd in crds_in(evaluated(name)[0]))


def renderable() -> list[str]:
    """Components that evaluate with their defaults (the others fail test_component_renders)."""
    ok = []
    for name in COMPONENTS:
        try:
            evaluated(name)
        except Exception:  # noqa: BLE001 - reported by test_component_renders
            continue
        ok.append(name)
    return ok


@functools.cache
def catalog() -> Catalog:
    served = {(c["spec"]["group"], c["spec"]["names"]["kind"], v["name"])
              for c in library_crds() for v in c["spec"].get("versions", []) if v.get("served")}
    owners = {o["metadata"]["name"]: name for name in renderable()
              for o in evaluated(name)[0] if o.get("kind") == "Namespace"}
    deps = {name: load_component(COMPONENTS_DIR / name).depends_on for name in renderable()}
    return Catalog(frozenset(served), owners, deps)


@functools.cache
def rendered(name: str) -> tuple[Obj, ...]:
    """The component as the renderer hands it to apply: namespaced, labelled, sorted."""
    raw, namespace = evaluated(name)
    ctx = Context(name, namespace, process.cluster_scoped_kinds(library_crds()))
    return tuple(process.process(list(raw), ctx))


def objects_of(name: str) -> list[Obj]:
    try:
        return list(rendered(name))
    except Exception as e:  # noqa: BLE001 - any failure here is the component's fault
        pytest.fail(f"component '{name}' does not render with its defaults: {e}")


# ---------------------------------------------------------------------------- helpers


def describe(obj: Obj) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def group_of(obj: Obj) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def of_kind(objects: Iterable[Obj], *kinds: str) -> list[Obj]:
    return [o for o in objects if o.get("kind") in kinds]


def template_of(obj: Obj) -> Mapping[str, Any] | None:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return spec.get("template")


def pods_of(objects: Iterable[Obj]) -> list[Pod]:
    pods: list[Pod] = []
    for obj in objects:
        if obj.get("kind") == "Pod":
            pods.append(Pod(obj, obj["metadata"].get("labels") or {}, obj.get("spec") or {}))
        elif obj.get("kind") in WORKLOAD_KINDS | RUN_TO_COMPLETION_KINDS:
            tpl = template_of(obj) or {}
            pods.append(Pod(obj, (tpl.get("metadata") or {}).get("labels") or {}, tpl.get("spec") or {}))
    return pods


def expression_matches(expr: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    return {
        "In": key in labels and labels[key] in values,
        "NotIn": key not in labels or labels[key] not in values,
        "Exists": key in labels,
        "DoesNotExist": key not in labels,
    }.get(str(op), False)


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions) against labels; empty matches all."""
    wanted = selector.get("matchLabels") or {}
    return (all(labels.get(k) == v for k, v in wanted.items())
            and all(expression_matches(e, labels) for e in selector.get("matchExpressions") or []))


# ---------------------------------------------------------------------------- rules


def workload_selector_problems(objects: list[Obj], _: Catalog) -> list[str]:
    """Deployment/StatefulSet/DaemonSet/ReplicaSet selectors must select their own pod template."""
    problems = []
    for obj in of_kind(objects, *WORKLOAD_KINDS):
        selector = (obj.get("spec") or {}).get("selector")
        labels = ((template_of(obj) or {}).get("metadata") or {}).get("labels") or {}
        if not selector:
            problems.append(f"{describe(obj)}: spec.selector is missing")
        elif not selector_matches(selector, labels):
            problems.append(f"{describe(obj)}: selector {selector} does not match pod template labels {labels}")
    return problems


def port_names_and_numbers(pods: Iterable[Pod]) -> tuple[set[str], set[int]]:
    names: set[str] = set()
    numbers: set[int] = set()
    for pod in pods:
        for c in pod.containers():
            for p in c.get("ports") or []:
                numbers.add(int(p["containerPort"]))
                if p.get("name"):
                    names.add(str(p["name"]))
    return names, numbers


def service_problems(objects: list[Obj], _: Catalog) -> list[str]:
    """Each Service selects some pod of the component, and every targetPort exists on those pods."""
    problems = []
    pods = pods_of(objects)
    for svc in of_kind(objects, "Service"):
        selector = (svc.get("spec") or {}).get("selector")
        if not selector:
            continue  # ExternalName or manually managed endpoints
        ns = svc["metadata"].get("namespace", "")
        backing = [p for p in pods if p.namespace == ns and selector_matches({"matchLabels": selector}, p.labels)]
        if not backing:
            problems.append(f"{describe(svc)}: selector {selector} matches no pod template of the component")
            continue
        names, numbers = port_names_and_numbers(backing)
        for port in svc["spec"].get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            known = names if isinstance(target, str) else numbers
            if target not in known:
                problems.append(f"{describe(svc)}: port {port.get('name') or port.get('port')} targets"
                                f" {target!r}, which no container of {[p.where for p in backing]} exposes")
    return problems


def aggregated_role_problems(objects: list[Obj], _: Catalog) -> list[str]:
    """An aggregated ClusterRole's rules belong to the aggregation controller: a manifest that sets
    them (even to []) fights it on every server-side apply."""
    return [f"ClusterRole {o['metadata']['name']} has an aggregationRule and also sets rules; leave rules out"
            for o in of_kind(objects, "ClusterRole") if "aggregationRule" in o and "rules" in o]


def subject_problems(binding: Obj, accounts: set[tuple[str, str]]) -> list[str]:
    problems = []
    for subject in binding.get("subjects") or []:
        if subject.get("kind") != "ServiceAccount":
            continue  # users and groups are not objects
        ns = subject.get("namespace") or binding["metadata"].get("namespace", "")
        name = subject.get("name", "")
        if ns == "kube-system" or name == "default" or (ns, name) in accounts:
            continue
        problems.append(f"{describe(binding)}: subject ServiceAccount {ns}/{name} is not created by the component")
    return problems


def role_ref_problem(binding: Obj, roles: set[tuple[str, str, str]]) -> str | None:
    ref = binding.get("roleRef") or {}
    kind, name = ref.get("kind"), ref.get("name", "")
    if kind == "ClusterRole" and (name in BUILTIN_CLUSTER_ROLES or name.startswith("system:")):
        return None
    ns = binding["metadata"].get("namespace", "") if kind == "Role" else ""
    if (str(kind), ns, name) in roles:
        return None
    return f"{describe(binding)}: roleRef {kind} {name} is not created by the component (nor built in)"


def rbac_problems(objects: list[Obj], _: Catalog) -> list[str]:
    """Bindings name ServiceAccounts and (Cluster)Roles that the component itself creates."""
    accounts = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in of_kind(objects, "ServiceAccount")}
    roles = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
             for o in of_kind(objects, "Role", "ClusterRole")}
    problems = []
    for binding in of_kind(objects, "RoleBinding", "ClusterRoleBinding"):
        problems += subject_problems(binding, accounts)
        problem = role_ref_problem(binding, roles)
        if problem:
            problems.append(problem)
    return problems


def webhook_problems(objects: list[Obj], _: Catalog) -> list[str]:
    """Admission webhooks call a Service (and port) of the same component."""
    services = {(s["metadata"].get("namespace", ""), s["metadata"]["name"]): s for s in of_kind(objects, "Service")}
    problems = []
    for cfg in of_kind(objects, "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        for hook in cfg.get("webhooks") or []:
            ref = (hook.get("clientConfig") or {}).get("service")
            if ref is None:
                problems.append(f"{describe(cfg)}: webhook {hook.get('name')} uses a URL, not a Service of the component")
                continue
            svc = services.get((ref.get("namespace", ""), ref.get("name", "")))
            if svc is None:
                problems.append(f"{describe(cfg)}: webhook {hook.get('name')} calls Service"
                                f" {ref.get('namespace')}/{ref.get('name')}, which the component does not create")
            elif ref.get("port", 443) not in {p.get("port") for p in svc["spec"].get("ports") or []}:
                problems.append(f"{describe(cfg)}: webhook {hook.get('name')} calls port {ref.get('port', 443)}"
                                f" of {describe(svc)}, which has no such port")
    return problems


def custom_resource_problems(objects: list[Obj], cat: Catalog) -> list[str]:
    """Every object of a non-built-in API group has a CRD (serving its version) somewhere in the library."""
    problems = []
    for obj in objects:
        group = group_of(obj)
        if group in BUILTIN_GROUPS:
            continue
        version = str(obj["apiVersion"]).rpartition("/")[2]
        if (group, obj["kind"], version) not in cat.crd_versions:
            problems.append(f"{describe(obj)}: no component ships a CRD serving {obj['apiVersion']} {obj['kind']}")
    return problems


def crd_contract_problems(objects: list[Obj], _: Catalog) -> list[str]:
    """CRDs are apiextensions.k8s.io/v1 with exactly one storage version and no conversion webhook;
    no APIService objects (neither runs on the simulated cluster)."""
    problems = [f"{describe(o)}: APIService objects are not allowed" for o in of_kind(objects, "APIService")]
    for crd in crds_in(objects):
        spec = crd.get("spec") or {}
        storage = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
        if crd.get("apiVersion") != "apiextensions.k8s.io/v1":
            problems.append(f"{describe(crd)}: apiVersion must be apiextensions.k8s.io/v1")
        if len(storage) != 1:
            problems.append(f"{describe(crd)}: needs exactly one storage version, has {storage}")
        if (spec.get("conversion") or {}).get("strategy", "None") != "None":
            problems.append(f"{describe(crd)}: conversion webhooks are not allowed")
    return problems


def container_problems_for(component: str) -> Rule:
    """Every container requests CPU and memory; long-running ones have a readiness probe."""
    def rule(objects: list[Obj], _: Catalog) -> list[str]:
        problems = []
        for pod in pods_of(objects):
            runs_to_completion = pod.owner.get("kind") in RUN_TO_COMPLETION_KINDS
            regular = {c.get("name") for c in pod.containers(init=False)}
            for c in pod.containers():
                requests = (c.get("resources") or {}).get("requests") or {}
                if not {"cpu", "memory"} <= set(requests):
                    problems.append(f"{pod.where}: container {c.get('name')} lacks resources.requests cpu and memory")
                exempt = (component, pod.owner["metadata"]["name"], c.get("name")) in NO_READINESS_PROBE
                if c.get("name") in regular and not runs_to_completion and not exempt and "readinessProbe" not in c:
                    problems.append(f"{pod.where}: container {c.get('name')} has no readinessProbe")
        return problems
    return rule


def namespace_problems_for(component: str) -> Rule:
    """Objects placed in a namespace that another component creates need that component among
    their (transitive) dependencies, or apply may reach them before the namespace exists."""
    def rule(objects: list[Obj], cat: Catalog) -> list[str]:
        used = sorted({o["metadata"]["namespace"] for o in objects if o["metadata"].get("namespace")})
        return [f"objects in namespace {ns} are applied without waiting for component '{cat.namespace_owners[ns]}',"
                f" which creates it: add it to dependsOn"
                for ns in used if cat.namespace_owners.get(ns, component) not in cat.needs(component)]
    return rule


# ---------------------------------------------------------------------------- library table

RULES: list[tuple[str, Callable[[str], Rule]]] = [
    ("workload-selectors", lambda _: workload_selector_problems),
    ("services", lambda _: service_problems),
    ("rbac", lambda _: rbac_problems),
    ("aggregated-roles", lambda _: aggregated_role_problems),
    ("webhooks", lambda _: webhook_problems),
    ("custom-resources", lambda _: custom_resource_problems),
    ("crd-contract", lambda _: crd_contract_problems),
    ("containers", container_problems_for),
    ("namespaces", namespace_problems_for),
]


def test_library_has_components() -> None:
    assert len(COMPONENTS) >= 2, f"expected components under {COMPONENTS_DIR}"


@pytest.mark.parametrize("name", COMPONENTS)
def test_component_renders(name: str) -> None:
    assert objects_of(name), f"component '{name}' renders no objects with its defaults"


@pytest.mark.parametrize("rule_name,make_rule", RULES, ids=[r[0] for r in RULES])
@pytest.mark.parametrize("name", COMPONENTS)
def test_component_structure(name: str, rule_name: str, make_rule: Callable[[str], Rule]) -> None:
    problems = make_rule(name)(objects_of(name), catalog())
    assert not problems, f"component '{name}' breaks rule '{rule_name}':\n  - " + "\n  - ".join(problems)


def test_readiness_exceptions_are_current() -> None:
    """An exception for a container that no longer exists hides nothing and should go."""
    exceptions = {key for key in NO_READINESS_PROBE if key[0] in COMPONENTS}
    live = {(key[0], p.owner["metadata"]["name"], c.get("name"))
            for key in exceptions for p in pods_of(objects_of(key[0])) for c in p.containers()}
    assert exceptions <= live, f"stale exceptions: {sorted(exceptions - live)}"


# ---------------------------------------------------------------------------- the rules themselves


def meta(name: str, ns: str | None = "kf", labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, **({"namespace": ns} if ns else {}), **({"labels": dict(labels)} if labels else {})}


def container(name: str = "c", ports: Iterable[tuple[str, int]] = (("http", 8080),), probe: bool = True,
              requests: bool = True) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": "x", "ports": [{"name": n, "containerPort": p} for n, p in ports]}
    if probe:
        c["readinessProbe"] = {"tcpSocket": {"port": 8080}}
    if requests:
        c["resources"] = {"requests": {"cpu": "10m", "memory": "16Mi"}}
    return c


def deployment(name: str = "app", selector: Mapping[str, str] | None = None, pod_labels: Mapping[str, str] | None = None,
               containers: list[dict[str, Any]] | None = None, kind: str = "Deployment") -> Obj:
    labels = dict(pod_labels or {"app": name})
    spec = {"template": {"metadata": {"labels": labels}, "spec": {"containers": containers or [container()]}}}
    if kind != "Job":
        spec["selector"] = {"matchLabels": dict(selector or labels)}
    return {"apiVersion": "apps/v1" if kind != "Job" else "batch/v1", "kind": kind, "metadata": meta(name), "spec": spec}


def service(name: str = "app", selector: Mapping[str, str] | None = None, target: str | int = "http",
            port: int = 80) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name),
            "spec": {"selector": dict(selector or {"app": "app"}), "ports": [{"port": port, "targetPort": target}]}}


def binding(role: str, role_kind: str = "ClusterRole", sa: str = "app", sa_ns: str | None = "kf") -> Obj:
    subject = {"kind": "ServiceAccount", "name": sa, **({"namespace": sa_ns} if sa_ns else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("b"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}, "subjects": [subject]}


def sa(name: str = "app") -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name)}


def webhook_cfg(svc: str, port: int = 443) -> Obj:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": meta("w", None),
            "webhooks": [{"name": "w.x.io", "clientConfig": {"service": {"name": svc, "namespace": "kf", "port": port}}}]}


def crd(kind: str = "Widget", versions: Iterable[tuple[str, bool]] = (("v1", True),), conversion: str = "None") -> Obj:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": meta("widgets.x.io", None),
            "spec": {"group": "x.io", "names": {"kind": kind}, "conversion": {"strategy": conversion},
                     "versions": [{"name": n, "served": True, "storage": s} for n, s in versions]}}


WIDGET_CATALOG = Catalog(frozenset({("x.io", "Widget", "v1")}), {"kf": "base"},
                         {"app": ("mid",), "mid": ("base",), "base": (), "loner": ()})
role_obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta("r"), "rules": []}

# (id, rule, objects, expected problem substring or "" for none)
RULE_CASES: list[tuple[str, Rule, list[Obj], str]] = [
    ("selector-ok", workload_selector_problems, [deployment()], ""),
    ("selector-mismatch", workload_selector_problems, [deployment(selector={"app": "other"})], "does not match"),
    ("selector-expressions", workload_selector_problems,
     [deployment() | {"spec": deployment()["spec"] | {"selector": {"matchExpressions": [
         {"key": "app", "operator": "In", "values": ["nope"]}]}}}], "does not match"),
    ("service-ok-by-name", service_problems, [deployment(), service()], ""),
    ("service-ok-by-number", service_problems, [deployment(), service(target=8080)], ""),
    ("service-default-target-is-port", service_problems, [deployment(), service(port=9090) | {
        "spec": {"selector": {"app": "app"}, "ports": [{"port": 9090}]}}], "targets 9090"),
    ("service-selects-nothing", service_problems, [deployment(), service(selector={"app": "db"})], "matches no pod"),
    ("service-unknown-port-name", service_problems, [deployment(), service(target="grpc")], "targets 'grpc'"),
    ("service-selects-job-pods", service_problems, [deployment(kind="Job"), service()], ""),
    ("rbac-ok", rbac_problems, [sa(), role_obj, binding("r", "Role")], ""),
    ("rbac-builtin-role", rbac_problems, [sa(), binding("cluster-admin")], ""),
    ("rbac-system-role", rbac_problems, [sa(), binding("system:auth-delegator")], ""),
    ("rbac-subject-namespace-defaults", rbac_problems, [sa(), binding("view", sa_ns=None)], ""),
    ("rbac-kube-system-subject", rbac_problems, [binding("view", sa="x", sa_ns="kube-system")], ""),
    ("rbac-missing-sa", rbac_problems, [binding("view", sa="ghost")], "ServiceAccount kf/ghost"),
    ("rbac-missing-role", rbac_problems, [sa(), binding("ghost-role")], "ClusterRole ghost-role"),
    ("rbac-role-in-other-ns", rbac_problems,
     [sa(), role_obj | {"metadata": meta("r", "other")}, binding("r", "Role")], "roleRef Role r"),
    ("webhook-ok", webhook_problems, [service("hook"), webhook_cfg("hook", 80)], ""),
    ("webhook-missing-service", webhook_problems, [webhook_cfg("ghost")], "does not create"),
    ("webhook-wrong-port", webhook_problems, [service("hook"), webhook_cfg("hook", 443)], "no such port"),
    ("cr-ok", custom_resource_problems, [{"apiVersion": "x.io/v1", "kind": "Widget", "metadata": meta("w")}], ""),
    ("cr-unserved-version", custom_resource_problems,
     [{"apiVersion": "x.io/v2", "kind": "Widget", "metadata": meta("w")}], "x.io/v2 Widget"),
    ("cr-no-crd", custom_resource_problems, [{"apiVersion": "y.io/v1", "kind": "Gadget", "metadata": meta("g")}], "y.io/v1"),
    ("crd-ok", crd_contract_problems, [crd()], ""),
    ("crd-two-storage", crd_contract_problems, [crd(versions=[("v1", True), ("v2", True)])], "exactly one storage"),
    ("crd-conversion-webhook", crd_contract_problems, [crd(conversion="Webhook")], "conversion webhooks"),
    ("apiservice", crd_contract_problems,
     [{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": meta("v1.x", None)}], "APIService"),
    ("aggregated-role-ok", aggregated_role_problems,
     [{"kind": "ClusterRole", "metadata": meta("r", None), "aggregationRule": {}}], ""),
    ("aggregated-role-with-rules", aggregated_role_problems,
     [{"kind": "ClusterRole", "metadata": meta("r", None), "aggregationRule": {}, "rules": []}], "leave rules out"),
    ("containers-ok", container_problems_for("t"), [deployment()], ""),
    ("containers-no-probe", container_problems_for("t"), [deployment(containers=[container(probe=False)])], "no readinessProbe"),
    ("containers-no-requests", container_problems_for("t"), [deployment(containers=[container(requests=False)])], "lacks resources"),
    ("containers-job-needs-no-probe", container_problems_for("t"),
     [deployment(kind="Job", containers=[container(probe=False)])], ""),
    ("namespace-from-dependency", namespace_problems_for("app"), [sa()], ""),
    ("namespace-created-by-self", namespace_problems_for("base"), [sa()], ""),
    ("namespace-unowned", namespace_problems_for("app"), [sa() | {"metadata": meta("a", "kube-system")}], ""),
    ("namespace-from-non-dependency", namespace_problems_for("loner"), [sa()], "component 'base'"),
]


@pytest.mark.parametrize("rule,objects,expected", [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_rule_catches(rule: Rule, objects: list[Obj], expected: str) -> None:
    problems = rule(objects, WIDGET_CATALOG)
    if expected:
        assert any(expected in p for p in problems), problems
    else:
        assert problems == []
