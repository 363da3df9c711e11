"""Waiting on the cluster: CRDs Established, webhook backends with ready endpoints, and an
application's objects healthy. Every poll is one LIST per kind still pending (label-selected),
so waiting on 100 objects costs a handful of requests per round, not 100. A workload's pods are
found through its own selector (one LIST of pods per namespace), never through a label of ours:
kfdeploy leaves pod templates as the source wrote them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from kfdeploy.kinds import rule_of
from kfdeploy.kube.client import Cluster, KubeApiError
from kfdeploy.kube.health import Health, assess, pod_failure
from kfdeploy.labels import APPLICATION, PART_OF
from kfdeploy.objects import ObjectKey, describe, describe_key, object_key
from kfdeploy.poll import Poller
from kfdeploy.selectors import matches, workload_selector

POLLER = Poller.real(0.25, factor=1.6, cap=1.0)
"""Rounds start short (a fast cluster answers at once) and settle at one a second; deadlines are
times on its clock."""
CRD_POLLER = replace(POLLER, interval=0.1)


@dataclass
class WaitOutcome:
    """Health of each waited object; ``failed`` and ``pending`` name what is not Current."""

    health: dict[ObjectKey, Health]

    def with_status(self, *statuses: str) -> list[tuple[ObjectKey, str]]:
        """(identity, health message) of each object in one of these statuses, in key order."""
        return [(k, h.message) for k, h in sorted(self.health.items()) if h.status in statuses]

    @property
    def failed(self) -> list[tuple[ObjectKey, str]]:
        return self.with_status("Failed")

    @property
    def pending(self) -> list[tuple[ObjectKey, str]]:
        return self.with_status("InProgress", "NotFound", "Terminating")

    @property
    def ok(self) -> bool:
        return all(h.status == "Current" for h in self.health.values())


def needs_polling(obj: dict[str, Any]) -> bool:
    """Whether the object is waited on by polling its health (the ``wait`` column of
    ``kfdeploy.kinds``); otherwise it is healthy once it exists."""
    wait = rule_of(obj).wait
    if wait == "load-balancer":
        return (obj.get("spec") or {}).get("type") == "LoadBalancer"
    return wait == "health"


def has_pods(obj: dict[str, Any]) -> bool:
    """A workload whose pods are found through its selector (and can fail it early)."""
    return rule_of(obj).pods != ""


def assess_all(objs: Iterable[dict[str, Any]], live: dict[ObjectKey, dict[str, Any]],
               pods: list[dict[str, Any]] | None = None) -> dict[ObjectKey, Health]:
    """Health of each desired object from its live copy; workloads also look at their pods."""
    out: dict[ObjectKey, Health] = {}
    for obj in objs:
        key = object_key(obj)
        if not needs_polling(obj) and key in live:
            out[key] = Health("Current", "exists")
            continue
        health = assess(live.get(key))
        if health.status == "InProgress" and pods and has_pods(obj):
            crash = pod_failure(pods_of(live.get(key) or obj, pods))
            if crash is not None:
                health = crash
        out[key] = health
    return out


def pods_of(workload: dict[str, Any], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pods a workload selects: its namespace and its ``spec.selector`` (the live object's,
    which for a Job is the one the API server generated)."""
    selector = workload_selector(workload)
    ns = (workload.get("metadata") or {}).get("namespace")
    return [p for p in pods if p["metadata"].get("namespace") == ns
            and matches(selector, p["metadata"].get("labels") or {})]


def list_pods(cluster: Cluster, workloads: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pod in the namespaces of these workloads: one LIST per namespace."""
    namespaces = {(o.get("metadata") or {}).get("namespace") for o in workloads
                  if has_pods(o)}
    return [p for ns in sorted(n for n in namespaces if n)
            for p in _list_or_empty(cluster, "v1", "Pod", None, namespace=ns)]


def wait_healthy(cluster: Cluster, app: str, set_id: str, objs: list[dict[str, Any]],
                 deadline: float, on_round: Callable[[WaitOutcome], None] | None = None,
                 poller: Poller = POLLER) -> WaitOutcome:
    """Poll until every object is Current, one is Failed, or the deadline passes."""
    selector = f"{PART_OF}={set_id},{APPLICATION}={app}"
    live: dict[ObjectKey, dict[str, Any]] = {object_key(o): o for o in objs if not needs_polling(o)}
    pending = [o for o in objs if needs_polling(o)]

    def one_round() -> WaitOutcome:
        for api_version, kind in sorted({(o["apiVersion"], o["kind"]) for o in pending}):
            for item in _list_or_empty(cluster, api_version, kind, selector):
                live[object_key(item)] = item
        outcome = WaitOutcome(assess_all(objs, live, list_pods(cluster, pending)))
        if on_round:
            on_round(outcome)
        pending[:] = [o for o in pending if outcome.health[object_key(o)].status != "Current"]
        return outcome

    return poller.poll(one_round, lambda outcome: outcome.ok or bool(outcome.failed), deadline)


def _list_or_empty(cluster: Cluster, api_version: str, kind: str, selector: str | None,
                   namespace: str | None = None) -> list[dict[str, Any]]:
    try:
        return cluster.list(api_version, kind, namespace=namespace, label_selector=selector)
    except KubeApiError as e:
        if e.status == 404:
            return []
        raise


def wait_established(cluster: Cluster, crds: list[dict[str, Any]], deadline: float,
                     poller: Poller = CRD_POLLER) -> list[str]:
    """Wait until the CRDs are Established; returns what is not, one line each: those still
    pending at the deadline or, at once, any the API server refused (its names clash with another
    CRD's), since no wait clears that."""
    names = {c["metadata"]["name"] for c in crds}
    selector = shared_selector(crds, (PART_OF, APPLICATION))

    def not_established() -> tuple[list[str], list[str]]:
        """(refused, pending) CRD lines."""
        listed = {crd["metadata"]["name"]: crd for crd in cluster.list(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", label_selector=selector)} if names else {}
        health = {n: assess(listed[n]) for n in names if n in listed}
        refused = sorted(f"{describe(listed[n])}: {h.message}" for n, h in health.items() if h.status == "Failed")
        pending = sorted(n for n in names if n not in health or health[n].status != "Current")
        return refused, pending

    refused, pending = poller.poll(not_established, lambda found: bool(found[0]) or not found[1], deadline)
    if refused:
        return refused
    if not pending:
        cluster.refresh_discovery()
    return [f"{n} (not Established before the timeout)" for n in pending]


def shared_selector(objs: list[dict[str, Any]], keys: tuple[str, ...]) -> str | None:
    """A label selector for the labels among ``keys`` that all ``objs`` share: a LIST of only
    these (the CRDs of one application), not of every CRD in the cluster with its schema."""
    labels = [(o.get("metadata") or {}).get("labels") or {} for o in objs]
    shared = [f"{k}={labels[0][k]}" for k in keys if labels and k in labels[0]
              and all(other.get(k) == labels[0][k] for other in labels)]
    return ",".join(shared) or None


def endpoints_ready(cluster: Cluster, service: ObjectKey) -> bool:
    """Whether a Service has at least one ready endpoint (EndpointSlices)."""
    _, _, ns, name = service
    slices = _list_or_empty(cluster, "discovery.k8s.io/v1", "EndpointSlice",
                            f"kubernetes.io/service-name={name}") if ns else []
    return any(
        s["metadata"].get("namespace") == ns
        and any((e.get("conditions") or {}).get("ready") for e in s.get("endpoints") or [])
        for s in slices)


def wait_endpoints(cluster: Cluster, services: Iterable[ObjectKey], deadline: float,
                   poller: Poller = POLLER) -> list[str]:
    """Wait until each Service has ready endpoints; returns those that never did."""
    pending = set(services)

    def still_pending() -> set[ObjectKey]:
        pending.difference_update({s for s in pending if endpoints_ready(cluster, s)})
        return pending

    return sorted(describe_key(s) for s in poller.poll(still_pending, lambda left: not left, deadline))


def recent_events(cluster: Cluster, key: ObjectKey, limit: int = 3) -> list[str]:
    """The last few events about an object, for failure reports."""
    _, kind, ns, name = key
    if not ns:
        return []
    try:
        events = cluster.call("GET", f"/api/v1/namespaces/{ns}/events", query={
            "fieldSelector": f"involvedObject.name={name},involvedObject.kind={kind}"}).get("items", [])
    except KubeApiError:
        return []
    events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return [f"{e.get('type', '')} {e.get('reason', '')}: {e.get('message', '').strip()}"
            for e in events[-limit:]]

