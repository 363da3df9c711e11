"""Apply and delete ordering of Kubernetes objects, and the order of applications.

The rules are data: the ``rank`` and ``phase`` columns of ``kfdeploy.kinds``, so reading that
table is reading the order. Objects must exist before the things that reference them (a
Namespace before its contents, a CRD before its custom resources, RBAC before the workloads that
use it), and admission webhooks and APIServices go last, so that a webhook whose backend is not
serving yet cannot reject the objects that make up that backend.

A kind is recognised by group and kind, so a custom resource that reuses a built-in name
(Knative's Service) is not mistaken for it. Custom resources (kinds not in the table) rank after
Services and before workloads. Their CRD is applied, and waited for until Established, in an
earlier wave (see ``apply_waves``); an operator usually reads its custom resources only once it
runs, so they need not wait for workloads. When a webhook intercepts them, ``webhook_gates``
names the Services they must wait for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Literal

from kfdeploy.kinds import (
    CRD,
    CUSTOM_RESOURCE_RANK,
    NAMESPACE,
    SERVICE,
    WEBHOOK_KINDS,
    api_group,
    group_kind,
    kinds_where,
    pod_template,
    rule_for,
)
from kfdeploy.objects import ObjectKey, meta_of, object_key, sort_key
from kfdeploy.selectors import matches

__all__ = ["CUSTOM_RESOURCE_RANK", "WEBHOOK_KINDS", "api_group"]  # re-exported for the kube side

ADMISSION_KINDS = kinds_where(phase="admission")


def kind_rank(kind: str, api_version: str) -> int:
    """Rank of a kind in apply order (``kfdeploy.kinds``), matched with the group of
    ``api_version``: Knative's ``serving.knative.dev`` Service ranks as a custom resource."""
    return rule_for(api_group(api_version), kind).rank


# --- apply and delete order ------------------------------------------------------------------


def sort_objects(objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects in apply order: stable by (rank, namespace, name)."""
    return sorted(objs, key=sort_key)


def delete_order(objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects in delete order: webhook configurations and APIServices first (so a webhook whose
    backend is being deleted cannot block later deletions), then the reverse of apply order."""

    def key(obj: dict[str, Any]) -> tuple[int, int, str, str]:
        rank, namespace, name = sort_key(obj)
        return (0 if group_kind(obj) in ADMISSION_KINDS else 1), -rank, namespace, name

    return sorted(objs, key=key)


# --- waves -----------------------------------------------------------------------------------

WaitFor = Literal["none", "established", "ready_endpoints"]


@dataclass(frozen=True)
class Wave:
    """A group of objects applied together; ``wait_for`` is what the engine waits for after
    applying it and before the next wave:

    - ``established``: every CRD of the wave is Established; then refresh discovery.
    - ``ready_endpoints``: the Services named by the set's webhook configurations
      (``webhook_services``) have ready endpoints.
    - ``none``: nothing.
    """

    name: str
    objects: tuple[dict[str, Any], ...]
    wait_for: WaitFor




def crd_kinds(objs: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """(group, kind) of the custom resources that the CRDs among ``objs`` define."""
    found: set[tuple[str, str]] = set()
    for obj in objs:
        if group_kind(obj) == CRD:
            spec = obj.get("spec") or {}
            found.add((str(spec.get("group") or ""), str((spec.get("names") or {}).get("kind") or "")))
    return found


def _wave_index(obj: Mapping[str, Any], batch_crds: set[tuple[str, str]]) -> int:
    phase = rule_for(*group_kind(obj)).phase
    if phase == "first":
        return 0
    if phase == "admission":
        return 3
    return 2 if group_kind(obj) in batch_crds else 1


def apply_waves(
    objs: Iterable[dict[str, Any]],
    crd_kinds_in_cluster: AbstractSet[tuple[str, str]] = frozenset(),
) -> list[Wave]:
    """Split objects into apply waves; empty waves are left out.

    1. ``namespaces-and-crds``: wait ``established`` when it holds CRDs.
    2. ``resources``: RBAC, config, Services, workloads, and custom resources whose CRD is already
       in the cluster (or not in this batch). Waits ``ready_endpoints`` when the set holds webhook
       configurations, so their backends serve before those webhooks start to intercept.
    3. ``custom-resources``: custom resources whose CRD is in this batch and not yet in the cluster.
    4. ``admission``: webhook configurations and APIServices.
    """
    ordered = sort_objects(objs)
    batch_crds = crd_kinds(ordered) - set(crd_kinds_in_cluster)
    buckets: list[list[dict[str, Any]]] = [[], [], [], []]
    for obj in ordered:
        buckets[_wave_index(obj, batch_crds)].append(obj)
    has_crds = any(group_kind(o) == CRD for o in buckets[0])
    has_webhooks = bool(webhook_services(ordered))
    specs: list[tuple[str, WaitFor]] = [
        ("namespaces-and-crds", "established" if has_crds else "none"),
        ("resources", "ready_endpoints" if has_webhooks else "none"),
        ("custom-resources", "none"),
        ("admission", "none"),
    ]
    return [
        Wave(name, tuple(bucket), wait_for) for (name, wait_for), bucket in zip(specs, buckets, strict=True) if bucket
    ]


# --- webhooks --------------------------------------------------------------------------------

def resource_for(group: str, kind: str, plurals: Mapping[tuple[str, str], str] | None = None) -> str:
    """The resource (plural) name of a kind, as webhook rules and RBAC spell it: from ``plurals``
    ((group, kind) -> plural, from discovery or the CRDs being applied), else the kind table;
    only a kind nobody knows falls back to English rules."""
    if plurals and (group, kind) in plurals:
        return plurals[(group, kind)]
    if (known := rule_for(group, kind)).plural:
        return known.plural
    lower = kind.lower()
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    return lower + "s"


def crd_plurals(objs: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """(group, kind) -> plural, read from the CRDs among ``objs``."""
    plurals: dict[tuple[str, str], str] = {}
    for obj in objs:
        if group_kind(obj) == CRD:
            spec = obj.get("spec") or {}
            names = spec.get("names") or {}
            if names.get("kind") and names.get("plural"):
                plurals[(str(spec.get("group") or ""), str(names["kind"]))] = str(names["plural"])
    return plurals


def _webhooks(objs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        hook
        for obj in objs
        if group_kind(obj) in WEBHOOK_KINDS
        for hook in (obj.get("webhooks") or [])
        if isinstance(hook, dict)
    ]


def _hook_service(hook: Mapping[str, Any]) -> ObjectKey | None:
    service = (hook.get("clientConfig") or {}).get("service")
    if not isinstance(service, dict) or not service.get("name"):
        return None
    return ("", "Service", str(service.get("namespace") or ""), str(service["name"]))


def webhook_services(objs: Iterable[Mapping[str, Any]]) -> list[ObjectKey]:
    """Keys of the Services that the webhook configurations among ``objs`` call, sorted."""
    return sorted({key for hook in _webhooks(objs) if (key := _hook_service(hook)) is not None})


def _listed(values: Any, value: str) -> bool:
    return isinstance(values, list) and ("*" in values or value in values)


def _rule_matches(rule: Mapping[str, Any], obj: Mapping[str, Any], resource: str) -> bool:
    api_version = str(obj.get("apiVersion") or "")
    group, version = api_group(api_version), api_version.rpartition("/")[2]
    namespaced = bool(meta_of(obj).get("namespace"))
    scope = rule.get("scope") or "*"
    resources = rule.get("resources")
    return (
        _listed(rule.get("operations"), "CREATE")
        and _listed(rule.get("apiGroups"), group)
        and _listed(rule.get("apiVersions"), version)
        and isinstance(resources, list)
        and any(r in ("*", "*/*", resource) for r in resources)
        and (scope == "*" or scope == ("Namespaced" if namespaced else "Cluster"))
    )


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether a LabelSelector matches ``labels``. Unknown labels (None) count as a match, so the
    caller waits rather than risks a rejected apply."""
    if not selector or labels is None:
        return True
    return matches(selector, labels, unknown=True)


def _namespace_labels(obj: Mapping[str, Any], known: Mapping[str, Mapping[str, str]]) -> Mapping[str, str] | None:
    """Labels the namespaceSelector is matched against; {} for cluster-scoped objects, which a
    namespaceSelector never excludes."""
    meta = meta_of(obj)
    if group_kind(obj) == NAMESPACE:
        return meta.get("labels") or {}
    namespace = meta.get("namespace")
    if not namespace:
        return None
    return known.get(str(namespace))


def _hook_intercepts(
    hook: Mapping[str, Any], obj: Mapping[str, Any], resource: str, ns_labels: Mapping[str, str] | None
) -> bool:
    namespaced_or_ns = bool(meta_of(obj).get("namespace")) or group_kind(obj) == NAMESPACE
    if namespaced_or_ns and not selector_matches(hook.get("namespaceSelector"), ns_labels):
        return False
    if not selector_matches(hook.get("objectSelector"), meta_of(obj).get("labels") or {}):
        return False
    return any(_rule_matches(rule, obj, resource) for rule in (hook.get("rules") or []))


def _backs_service(obj: Mapping[str, Any], service: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is the Service itself or a workload whose pods it selects (its backend)."""
    if object_key(obj) == object_key(service):
        return True
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector or meta_of(obj).get("namespace") != meta_of(service).get("namespace"):
        return False
    template = pod_template(obj)
    pod_labels = (template.get("metadata") or {}).get("labels") if template is not None else None
    return isinstance(pod_labels, dict) and all(pod_labels.get(k) == v for k, v in selector.items())


def webhook_gates(
    objs: Iterable[dict[str, Any]],
    webhook_configs: Iterable[Mapping[str, Any]] | None = None,
    *,
    plurals: Mapping[tuple[str, str], str] | None = None,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[ObjectKey, list[ObjectKey]]:
    """For each object that a webhook would intercept on CREATE, the webhook Services it must wait
    for (ready endpoints) before it is applied.

    Webhooks come from ``webhook_configs`` or else from ``objs``. Namespace labels come from the
    Namespaces in ``objs`` and ``namespace_labels``; unknown labels count as a match. Webhook
    configurations are never gated (the API server does not call webhooks for them), nor is a
    webhook's own Service or the workloads that back it, which would wait for themselves.
    """
    items = list(objs)
    hooks = _webhooks(items if webhook_configs is None else webhook_configs)
    known = {**crd_plurals(items), **(plurals or {})}
    ns_known: dict[str, Mapping[str, str]] = {
        str(meta_of(o).get("name")): meta_of(o).get("labels") or {} for o in items if group_kind(o) == NAMESPACE
    }
    ns_known.update(namespace_labels or {})
    services = {object_key(o): o for o in items if group_kind(o) == SERVICE}
    gates: dict[ObjectKey, list[ObjectKey]] = {}
    for obj in items:
        if group_kind(obj) in WEBHOOK_KINDS:
            continue
        waits = _gates_for(obj, hooks, resource_for(*group_kind(obj), known), ns_known, services)
        if waits:
            gates[object_key(obj)] = waits
    return gates


def _gates_for(
    obj: Mapping[str, Any],
    hooks: list[Mapping[str, Any]],
    resource: str,
    ns_known: Mapping[str, Mapping[str, str]],
    services: Mapping[ObjectKey, Mapping[str, Any]],
) -> list[ObjectKey]:
    ns_labels = _namespace_labels(obj, ns_known)
    waits: set[ObjectKey] = set()
    for hook in hooks:
        service = _hook_service(hook)
        if service is None or not _hook_intercepts(hook, obj, resource, ns_labels):
            continue
        service_obj = services.get(service)
        if object_key(obj) == service or (service_obj is not None and _backs_service(obj, service_obj)):
            continue
        waits.add(service)
    return sorted(waits)
