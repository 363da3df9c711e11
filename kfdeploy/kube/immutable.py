"""Changes the API server refuses to make in place: immutable fields, as rules per kind.

A rule compares the live object with the desired one and says which field changed and why the
server will not take it. Two sources agree on the verdict: these rules (pure, so ``apply`` can
refuse before touching anything), and the server's own dry-run, whose 422 causes are read into
field paths (``server_causes``) for whatever the rules do not cover. A field the desired object
does not set is not a change: the server keeps or defaults it.

The rules follow the update validation of Kubernetes (``ValidateDeploymentUpdate``,
``ValidateStatefulSetUpdate``, ``ValidateJobUpdate``, ``ValidateServiceUpdate``,
``ValidatePersistentVolumeClaimUpdate``, ``ValidateRoleBindingUpdate``, ...).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kfdeploy.kinds import rule_of
from kfdeploy.kube.diff import drift
from kfdeploy.quantity import parse_or_none


@dataclass(frozen=True)
class Immutable:
    """One reason an object must be deleted and recreated: the field, what changed, and why."""

    field: str
    change: str
    why: str

    def __str__(self) -> str:
        return f"{self.field} {self.change}: {self.why}"


Check = Callable[[Mapping[str, Any], Mapping[str, Any]], Immutable | None]


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(part)
    return obj


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 80 else text[:77] + "..."


def equal(field: str, why: str) -> Check:
    """The field may not change at all (when the desired object sets it)."""
    def check(live: Mapping[str, Any], desired: Mapping[str, Any]) -> Immutable | None:
        new, old = _get(desired, field), _get(live, field)
        if new is None or old is None or old == new:
            return None
        return Immutable(field, f"changes from {_short(old)} to {_short(new)}", why)

    return check


def contains(field: str, why: str, strip: tuple[str, ...] = ()) -> Check:
    """Everything the desired object sets under the field must already be so (server defaults
    and controller-added labels in the live object are fine); ``strip`` drops per-item keys
    such as the ``status`` of claim templates."""
    def check(live: Mapping[str, Any], desired: Mapping[str, Any]) -> Immutable | None:
        new, old = _strip(_get(desired, field), strip), _strip(_get(live, field), strip)
        if new is None or old is None:
            return None
        changed = drift(old, new, field, limit=3)
        return Immutable(field, "changes (" + ", ".join(changed) + ")", why) if changed else None

    return check


def _strip(value: Any, keys: tuple[str, ...]) -> Any:
    if not keys or not isinstance(value, list):
        return value
    return [{k: v for k, v in i.items() if k not in keys} if isinstance(i, dict) else i for i in value]


# --- kind-specific checks ---------------------------------------------------------------------


def _headless(live: Mapping[str, Any], desired: Mapping[str, Any]) -> Immutable | None:
    """A headless Service keeps ``clusterIP: None`` when the field is dropped from the spec (the
    server re-fills it), so leaving headless is only possible by recreating."""
    old, new = _get(live, "spec.clusterIP"), _get(desired, "spec.clusterIP")
    kind = _get(desired, "spec.type") or "ClusterIP"
    if old == "None" and new in (None, "") and kind in ("ClusterIP", "NodePort", "LoadBalancer"):
        return Immutable("spec.clusterIP", 'changes from "None" to an allocated address',
                         "a headless Service cannot get a cluster IP in place")
    return None


def _cluster_ip(live: Mapping[str, Any], desired: Mapping[str, Any]) -> Immutable | None:
    """clusterIP is fixed once allocated, except that a change of type to or from ExternalName
    drops or allocates it (the server does that itself)."""
    types = {_get(live, "spec.type") or "ClusterIP", _get(desired, "spec.type") or "ClusterIP"}
    if "ExternalName" in types:
        return None
    return equal("spec.clusterIP", "a Service's cluster IP is fixed once allocated")(live, desired)


def _pvc_spec(spec: Any) -> Any:
    """The claim's spec without what may change in place: the requested size (up) and the
    volume attributes class."""
    spec = copy.deepcopy(spec)
    if isinstance(spec, dict):
        spec.pop("volumeAttributesClassName", None)
        requests = _get(spec, "resources.requests")
        if isinstance(requests, dict):
            requests.pop("storage", None)
    return spec


def _pvc_size(live: Mapping[str, Any], desired: Mapping[str, Any]) -> Immutable | None:
    field = "spec.resources.requests.storage"
    old, new = _get(live, field), _get(desired, field)
    old_q, new_q = parse_or_none(old), parse_or_none(new)
    if old_q is not None and new_q is not None and new_q < old_q:
        return Immutable(field, f"shrinks from {old} to {new}", "a volume claim can only grow")
    return None


def _pvc_rest(live: Mapping[str, Any], desired: Mapping[str, Any]) -> Immutable | None:
    old, new = _pvc_spec(live.get("spec")), _pvc_spec(desired.get("spec"))
    if old is None or new is None:
        return None
    changed = drift(old, new, "spec", limit=3)
    if not changed:
        return None
    return Immutable(changed[0], "changes" + (f" (and {', '.join(changed[1:])})" if changed[1:] else ""),
                     "a claim's spec is fixed at creation, except a larger resources.requests.storage")


def _immutable_data(live: Mapping[str, Any], desired: Mapping[str, Any]) -> Immutable | None:
    """``immutable: true`` ConfigMaps and Secrets keep their data, and stay immutable."""
    if live.get("immutable") is not True:
        return None
    if desired.get("immutable") is False:
        return Immutable("immutable", "changes from true to false", "an immutable object stays immutable")
    for field in ("data", "binaryData"):
        if field in desired and desired.get(field) != live.get(field):
            return Immutable(field, "changes", f"the {desired.get('kind')} is marked immutable: true")
    return None


SELECTOR_WHY = "a workload's selector is immutable (its controller would lose the pods it owns)"

RULES: dict[str, tuple[Check, ...]] = {
    "selector": (equal("spec.selector", SELECTOR_WHY),),
    "statefulset": (
        equal("spec.selector", SELECTOR_WHY),
        equal("spec.serviceName", "a StatefulSet's pods take their DNS names from its governing Service"),
        equal("spec.podManagementPolicy", "a StatefulSet's pod management policy is fixed at creation"),
        contains("spec.volumeClaimTemplates", "claims are made from the templates once; the server "
                 "forbids changing them", strip=("status", "apiVersion", "kind")),
    ),
    "job": (
        equal("spec.selector", SELECTOR_WHY),
        contains("spec.template", "a Job's pod template is fixed once the Job exists"),
        equal("spec.completionMode", "a Job's completion mode is fixed at creation"),
        equal("spec.podFailurePolicy", "a Job's pod failure policy is fixed at creation"),
        equal("spec.managedBy", "a Job's managedBy is fixed at creation"),
    ),
    "service": (_cluster_ip, _headless),
    "pvc": (_pvc_size, _pvc_rest),
    "secret": (equal("type", "a Secret's type is fixed at creation"), _immutable_data),
    "configmap": (_immutable_data,),
    "binding": (equal("roleRef", "a binding's roleRef cannot change; a new binding grants the new role"),),
    "priorityclass": (
        equal("value", "a PriorityClass's value is fixed at creation"),
        equal("preemptionPolicy", "a PriorityClass's preemption policy is fixed at creation"),),
    "storageclass": tuple(
        equal(f, f"a StorageClass's {f} is fixed at creation")
        for f in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")),
    "ingressclass": (equal("spec.controller", "an IngressClass's controller is fixed at creation"),),
    "crd": (equal("spec.scope", "a CRD's scope is fixed at creation"),),
}
"""Rule-set name (the ``immutable`` column of ``kfdeploy.kinds``) -> checks; each returns why the
change needs delete-and-recreate, or None."""


def needs_recreate(live: Mapping[str, Any] | None, desired: Mapping[str, Any] | None) -> list[Immutable]:
    """Every immutable field that applying ``desired`` over ``live`` would change."""
    if live is None or desired is None:
        return []
    return [found for check in RULES.get(rule_of(desired).immutable, ()) if (found := check(live, desired))]


# --- the server's verdict ---------------------------------------------------------------------

# How update validation phrases "not in place" (field is immutable, may not change, updates to
# ... are forbidden, cannot change roleRef).
_REFUSAL = re.compile(r"immutable|may not change|may not be changed|updates to .* (are|is) forbidden|"
                      r"cannot change|cannot be changed", re.IGNORECASE)


def server_causes(status: int, details: Mapping[str, Any] | None) -> list[Immutable]:
    """The immutable fields named by a 422 from a dry-run apply (empty when it is another
    kind of rejection)."""
    if status != 422 or not details:
        return []
    out = []
    for cause in details.get("causes") or []:
        message = str(cause.get("message") or "")
        if _REFUSAL.search(message):
            field = str(cause.get("field") or "(object)")
            out.append(Immutable(field, "changes", "the API server refuses: " + _plain(message)))
    return out


def _plain(message: str) -> str:
    """A cause message without the Go dump of the value (``Invalid value: v1.LabelSelector{...}:``)."""
    text = re.sub(r"^Invalid value: .*?: (?=[a-z])", "", message, flags=re.DOTALL)
    text = re.sub(r"^Forbidden: ", "", text)
    return text if len(text) <= 160 else text[:157] + "..."


def describe(found: list[Immutable]) -> str:
    return "recreate required: " + "; ".join(str(f) for f in found)
