"""Will the rendered pods fit the nodes? Pure arithmetic over plain dicts, as the scheduler does it.

A pod's request is Kubernetes' effective request: the app containers plus sidecars (restartable
init containers), or the largest init container with the sidecars started before it, whichever
is more, plus the pod overhead; a container that sets only a limit requests that limit. A node
is eligible when it is schedulable, matches the pod's nodeSelector and required node affinity and
every NoSchedule/NoExecute taint on it is tolerated. A replica that fits on no eligible node's
allocatable can never run (FAIL); totals are compared with what the nodes have free after the
pods that are not this spec's (WARN when short or tight).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from kfdeploy.findings import Finding, fail, ok, warn
from kfdeploy.kinds import pod_template, rule_of, workload_spec
from kfdeploy.objects import describe
from kfdeploy.quantity import QuantityError, parse, show

Requests = dict[str, Fraction]
CHECK = "capacity"
TIGHT = Fraction(85, 100)  # total requests above this share of what is free is a warning
BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})


# --- requests ------------------------------------------------------------------------------

def container_requests(container: Mapping[str, Any]) -> Requests:
    """What one container requests: its requests, defaulted from its limits."""
    resources = container.get("resources") or {}
    merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    out: Requests = {}
    for name, value in merged.items():
        try:
            out[str(name)] = parse(value)
        except QuantityError:
            continue  # the API server rejects it on apply with a better message
    return out


def _add(a: Requests, b: Mapping[str, Fraction]) -> Requests:
    return {k: a.get(k, Fraction(0)) + b.get(k, Fraction(0)) for k in {*a, *b}}


def _max(a: Requests, b: Mapping[str, Fraction]) -> Requests:
    return {k: max(a.get(k, Fraction(0)), b.get(k, Fraction(0))) for k in {*a, *b}}


def pod_requests(pod: Mapping[str, Any]) -> Requests:
    """The effective request of a pod spec (KEP-753 sidecars included), with one ``pods`` slot."""
    total: Requests = {}
    for c in pod.get("containers") or []:
        total = _add(total, container_requests(c))
    sidecars: Requests = {}
    init_peak: Requests = {}
    for c in pod.get("initContainers") or []:
        if c.get("restartPolicy") == "Always":
            sidecars = _add(sidecars, container_requests(c))
            init_peak = _max(init_peak, sidecars)
        else:
            init_peak = _max(init_peak, _add(container_requests(c), sidecars))
    total = _max(_add(total, sidecars), init_peak)
    overhead = {k: parse(v) for k, v in (pod.get("overhead") or {}).items()}
    return {k: v for k, v in _add(total, {**overhead, "pods": Fraction(1)}).items() if v}


# --- workloads -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PodGroup:
    """The pods one rendered workload asks for."""

    application: str
    workload: str
    namespace: str
    pod: dict[str, Any]
    labels: dict[str, str]
    replicas: int
    per_node: bool = False  # a DaemonSet: one pod on every eligible node

    @property
    def requests(self) -> Requests:
        return pod_requests(self.pod)


def _template(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], int] | None:
    """(pod template, pods it asks for) of a workload (the ``pod_template`` and ``pod_count``
    columns of ``kfdeploy.kinds``), or None. A DaemonSet counts one pod per node."""
    count, template = rule_of(obj).pod_count, pod_template(obj)
    if not count or template is None:
        return None
    spec = workload_spec(obj) or {}
    if count == "replicas":
        return template, int(spec.get("replicas", 1))
    if count == "parallelism":
        return template, min(int(spec.get("parallelism", 1)), int(spec.get("completions") or 1 << 30))
    return template, 1


def pod_groups(apps: Iterable[tuple[str, list[dict[str, Any]]]]) -> list[PodGroup]:
    groups = []
    for app, objects in apps:
        for obj in objects:
            found = _template(obj)
            if found is None or found[1] <= 0:
                continue
            template, replicas = found
            groups.append(PodGroup(app, describe(obj), str((obj.get("metadata") or {}).get("namespace") or ""),
                                   dict(template.get("spec") or {}),
                                   dict((template.get("metadata") or {}).get("labels") or {}),
                                   replicas, per_node=rule_of(obj).pod_count == "per-node"))
    return groups


# --- nodes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Node:
    name: str
    labels: dict[str, str]
    taints: list[dict[str, Any]]
    allocatable: Requests
    unschedulable: bool = False
    used: Requests = field(default_factory=dict)  # by pods that are not this spec's

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Node:
        meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
        alloc = status.get("allocatable") or status.get("capacity") or {}
        return cls(str(meta.get("name")), dict(meta.get("labels") or {}), list(spec.get("taints") or []),
                   {k: parse(v) for k, v in alloc.items()}, bool(spec.get("unschedulable")))

    @property
    def free(self) -> Requests:
        return {k: v - self.used.get(k, Fraction(0)) for k, v in self.allocatable.items()}


def tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _requirement(req: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key, op, values = str(req.get("key")), req.get("operator"), [str(v) for v in req.get("values") or []]
    value = labels.get(key)
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            return int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0])
        except ValueError:
            return False
    return False


def _term(term: Mapping[str, Any], node: Node) -> bool:
    fields = {"metadata.name": node.name}
    return all(_requirement(r, node.labels) for r in term.get("matchExpressions") or []) and \
        all(_requirement(r, fields) for r in term.get("matchFields") or [])


def ineligible(pod: Mapping[str, Any], node: Node) -> str | None:
    """Why the scheduler would never put this pod on the node, or None."""
    if node.unschedulable:
        return "cordoned (unschedulable)"
    wrong = {k: v for k, v in (pod.get("nodeSelector") or {}).items() if node.labels.get(k) != v}
    if wrong:
        return "nodeSelector " + ", ".join(f"{k}={v}" for k, v in wrong.items())
    required = ((((pod.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms"))
    if required and not any(_term(t, node) for t in required):
        return "required node affinity"
    for taint in node.taints:
        if taint.get("effect") in BLOCKING_EFFECTS and not tolerates(pod.get("tolerations") or [], taint):
            value = f"={taint['value']}" if taint.get("value") else ""
            return f"taint {taint.get('key')}{value}:{taint.get('effect')} not tolerated"
    return None


def fits(requests: Mapping[str, Fraction], room: Mapping[str, Fraction]) -> bool:
    return all(v <= room.get(k, Fraction(0)) for k, v in requests.items())


def with_usage(nodes: list[Node], live_pods: Iterable[Mapping[str, Any]], groups: list[PodGroup]) -> list[Node]:
    """The nodes with what running pods that are not this spec's already request."""
    used: dict[str, Requests] = {}
    for pod in live_pods:
        spec, meta = pod.get("spec") or {}, pod.get("metadata") or {}
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") or not spec.get("nodeName"):
            continue
        if any(_is_ours(meta, g) for g in groups):
            continue
        used[spec["nodeName"]] = _add(used.get(spec["nodeName"], {}), pod_requests(spec))
    return [Node(n.name, n.labels, n.taints, n.allocatable, n.unschedulable, used.get(n.name, {})) for n in nodes]


def _is_ours(meta: Mapping[str, Any], group: PodGroup) -> bool:
    labels = meta.get("labels") or {}
    return meta.get("namespace") == group.namespace and bool(group.labels) and \
        all(labels.get(k) == v for k, v in group.labels.items())


# --- the check -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PoolTemplate:
    """A node an autoscaler may add: its pool's labels and taints; ``allocatable`` holds only what
    the spec tells (a GPU count), every other resource counts as enough."""

    pool: str
    max_nodes: int
    node: Node

    def fits(self, requests: Mapping[str, Fraction]) -> bool:
        return all(v <= self.node.allocatable[k] for k, v in requests.items() if k in self.node.allocatable)


def check(groups: list[PodGroup], nodes: list[Node], pools: Iterable[PoolTemplate] = ()) -> list[Finding]:
    """One finding per workload that cannot (or can only barely) run, then one per resource total.
    A replica no current node takes but a new node of an autoscaled pool would is a warning."""
    pools = list(pools)
    findings = [_on_new_node(f, g, pools) for g in groups for f in _group(g, nodes)] + _totals(groups, nodes)
    return findings or [ok(CHECK, "nodes", "no workloads to place")]


def _on_new_node(finding: Finding, group: PodGroup, pools: Iterable[PoolTemplate]) -> Finding:
    if finding.status != "FAIL" or group.per_node:
        return finding
    fitting = [p for p in pools if ineligible(group.pod, p.node) is None and p.fits(group.requests)]
    if not fitting:
        return finding
    names = ", ".join(f"{p.pool} (up to {p.max_nodes} nodes)" for p in fitting)
    return warn(CHECK, finding.object, f"{finding.message}; a new node of pool {names} would take it",
                "make sure the pool can scale up (quota, stock) or scale it up before applying")


def _where(group: PodGroup) -> str:
    return f"application {group.application}: {group.workload}"


def _group(group: PodGroup, nodes: list[Node]) -> list[Finding]:
    why = {n.name: ineligible(group.pod, n) for n in nodes}
    eligible = [n for n in nodes if why[n.name] is None]
    req = group.requests
    if not eligible:
        reasons = "; ".join(f"{name}: {r}" for name, r in why.items()) or "the cluster has no nodes"
        if group.per_node:
            return [warn(CHECK, _where(group), f"runs on no node ({reasons})",
                         "add nodes it selects and tolerates, or disable the application if it is not needed")]
        return [fail(CHECK, _where(group), f"no node admits its pods: {reasons}",
                     "add a node pool with matching labels and taints, or change the workload's nodeSelector,"
                     " affinity or tolerations (application params)")]
    if group.per_node:
        small = [n.name for n in eligible if not fits(req, n.allocatable)]
        if small:
            return [fail(CHECK, _where(group), f"its pod ({_amounts(req)}) does not fit nodes {', '.join(small)}",
                         "lower its requests, or use larger nodes")]
        return []
    if not any(fits(req, n.allocatable) for n in eligible):
        return [fail(CHECK, _where(group), _too_big(req, eligible), "lower the requests (application params), or"
                     " add a node pool with nodes that large")]
    if not any(fits(req, n.free) for n in eligible):
        return [warn(CHECK, _where(group), f"a replica ({_amounts(req)}) fits no eligible node with what other pods"
                     " already request there", "free capacity on the nodes, or add nodes")]
    return []


def _too_big(req: Requests, eligible: list[Node]) -> str:
    for resource, amount in sorted(req.items()):
        most = max(eligible, key=lambda n: n.allocatable.get(resource, Fraction(0)))
        have = most.allocatable.get(resource, Fraction(0))
        if amount > have:
            where = f"the most any eligible node has is {show(resource, have)} ({most.name})" if have else \
                "no eligible node has any"
            return f"each replica needs {resource} {show(resource, amount)}; {where}"
    return f"no eligible node has {_amounts(req)} at once"


def _amounts(req: Mapping[str, Fraction]) -> str:
    return ", ".join(f"{k} {show(k, v)}" for k, v in sorted(req.items()) if k != "pods")


def _totals(groups: list[PodGroup], nodes: list[Node]) -> list[Finding]:
    demand: Requests = {}
    for g in groups:
        count = sum(1 for n in nodes if ineligible(g.pod, n) is None) if g.per_node else g.replicas
        demand = _add(demand, {k: v * count for k, v in g.requests.items()})
    usable = [n for n in nodes if not n.unschedulable]
    out = []
    for resource, want in sorted(demand.items()):
        free = sum((n.free.get(resource, Fraction(0)) for n in usable), Fraction(0))
        obj = f"{resource} on {len(usable)} node(s)"
        numbers = f"requests total {show(resource, want)} of {show(resource, free)} free"
        if want > free:
            out.append(warn(CHECK, obj, f"{numbers}: short by {show(resource, want - free)}",
                            "add nodes (or let the autoscaler add them), or lower requests/replicas"))
        elif want > free * TIGHT:
            out.append(warn(CHECK, obj, f"{numbers} ({float(want / free):.0%}): tight, "
                            f"{show(resource, free - want)} left", "add headroom before upgrades and new workloads"))
        else:
            out.append(ok(CHECK, obj, f"{numbers} ({float(want / free) if free else 0:.0%})"))
    return out
