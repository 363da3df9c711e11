"""Health of a live object, computed from the object alone (kstatus style).

``assess`` never touches the cluster; the engine polls and calls it. A fixed precedence decides:
gone -> deleting -> controller has not observed the latest generation -> Stalled/Reconciling
conditions -> the kind's rule (the ``health`` column of ``kfdeploy.kinds``, implemented in
``RULES``) -> a generic ``Ready`` condition -> Current.
Failure is checked before success in every rule, so the engine can stop waiting early. Every
field read has a default, so a half-populated status never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kfdeploy.kinds import rule_of
from kfdeploy.objects import describe

Status = Literal["Current", "InProgress", "Failed", "Terminating", "NotFound"]

# Container waiting reasons that will not fix themselves without a change.
FATAL_WAITING_REASONS = frozenset(
    {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "InvalidImageName"}
)


@dataclass(frozen=True)
class Health:
    """What the engine needs to decide: done, keep waiting, or stop. ``message`` says why, without
    naming the object (the caller does, with ``kfdeploy.objects.describe``), except where it
    names another object (the pod that failed a workload)."""

    status: Status
    message: str


Obj = Mapping[str, Any]
Rule = Callable[[Obj], Health]


# --- field reads -----------------------------------------------------------------------------


def _dig(obj: Any, *path: str, default: Any = None) -> Any:
    for part in path:
        if not isinstance(obj, Mapping) or part not in obj or obj[part] is None:
            return default
        obj = obj[part]
    return obj


def _int(obj: Obj, *path: str, default: int = 0) -> int:
    value = _dig(obj, *path, default=default)
    return value if isinstance(value, int) else default


def _condition(obj: Obj, kind: str) -> Mapping[str, Any] | None:
    conditions = _dig(obj, "status", "conditions", default=[])
    for cond in conditions if isinstance(conditions, list) else []:
        if isinstance(cond, Mapping) and cond.get("type") == kind:
            return cond
    return None


def _is_true(obj: Obj, kind: str) -> bool:
    cond = _condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def _why(cond: Mapping[str, Any] | None) -> str:
    """'Reason: message' of a condition, or '' when it has neither."""
    if cond is None:
        return ""
    parts = [str(p) for p in (cond.get("reason"), cond.get("message")) if p]
    return ": ".join(parts)


# --- per-kind rules --------------------------------------------------------------------------


def _replica_health(counts: list[tuple[str, int, int]]) -> Health:
    """Current when every (label, have, want) count is reached; the message lists them all."""
    text = ", ".join(f"{label} {have}/{want}" for label, have, want in counts)
    done = all(have >= want for _, have, want in counts)
    return Health("Current" if done else "InProgress", text)


# Pod creation refused for a reason that stays until the spec (or the namespace) changes; other
# refusals (a ServiceAccount or quota not there yet) are retried by the controller, so they wait.
PERMANENT_CREATE_FAILURES = ("violates PodSecurity",)


def _replica_failure(obj: Obj) -> Health | None:
    """A ReplicaFailure condition (pods the controller could not create): Failed when it cannot
    clear by itself, else None so the caller's counts decide (the reason shows in the message)."""
    cond = _condition(obj, "ReplicaFailure")
    if cond is None or cond.get("status") != "True":
        return None
    if any(marker in str(cond.get("message", "")) for marker in PERMANENT_CREATE_FAILURES):
        return Health("Failed", f"pods cannot be created ({_why(cond)})")
    return None


def _with_replica_failure(obj: Obj, health: Health) -> Health:
    cond = _condition(obj, "ReplicaFailure")
    if health.status != "InProgress" or cond is None or cond.get("status") != "True":
        return health
    return Health(health.status, f"{health.message}; pods not created ({_why(cond)})")


def _deployment(obj: Obj) -> Health:
    progressing = _condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health("Failed", f"progress deadline exceeded ({_why(progressing)})")
    failure = _replica_failure(obj)
    if failure is not None:
        return failure
    want = _int(obj, "spec", "replicas", default=1)
    health = _replica_health(
        [
            ("Ready", _int(obj, "status", "readyReplicas"), want),
            ("updated", _int(obj, "status", "updatedReplicas"), want),
            ("available", _int(obj, "status", "availableReplicas"), want),
        ],
    )
    old = _int(obj, "status", "replicas") - _int(obj, "status", "updatedReplicas")
    if health.status == "Current" and old > 0:
        return Health("InProgress", f"{health.message}; {old} old replica(s) pending termination")
    return _with_replica_failure(obj, health)


def _statefulset(obj: Obj) -> Health:
    want = _int(obj, "spec", "replicas", default=1)
    strategy = _dig(obj, "spec", "updateStrategy", default={})
    counts = [("Ready", _int(obj, "status", "readyReplicas"), want)]
    if _dig(strategy, "type", default="RollingUpdate") != "RollingUpdate":
        return _replica_health(counts)
    partition = _int(strategy, "rollingUpdate", "partition")
    updated = _int(obj, "status", "updatedReplicas")
    if partition > 0:
        # Only ordinals >= partition are updated; revisions legitimately differ.
        counts.append(("updated", updated, max(want - partition, 0)))
        health = _replica_health(counts)
        return Health(health.status, f"{health.message} (partition {partition})")
    health = _replica_health([*counts, ("updated", updated, want)])
    current = _dig(obj, "status", "currentRevision", default="")
    update = _dig(obj, "status", "updateRevision", default="")
    if health.status == "Current" and current != update:
        return Health("InProgress", f"{health.message}; rolling update from revision {current} to {update}")
    return health


def _daemonset(obj: Obj) -> Health:
    desired = _dig(obj, "status", "desiredNumberScheduled")
    if not isinstance(desired, int):
        return Health("InProgress", "waiting for the controller to schedule pods")
    return _replica_health(
        [
            ("Ready", _int(obj, "status", "numberReady"), desired),
            ("updated", _int(obj, "status", "updatedNumberScheduled"), desired),
            ("available", _int(obj, "status", "numberAvailable"), desired),
        ],
    )


def _replicaset(obj: Obj) -> Health:
    want = _int(obj, "spec", "replicas", default=1)
    counts = [
        ("Ready", _int(obj, "status", "readyReplicas"), want),
        ("available", _int(obj, "status", "availableReplicas"), want),
    ]
    return _replica_failure(obj) or _with_replica_failure(obj, _replica_health(counts))


def _job(obj: Obj) -> Health:
    if _is_true(obj, "Failed"):
        return Health("Failed", f"failed ({_why(_condition(obj, 'Failed'))})")
    completions = _int(obj, "spec", "completions", default=1)
    succeeded = _int(obj, "status", "succeeded")
    if _is_true(obj, "Complete"):
        return Health("Current", f"complete, succeeded {succeeded}/{completions}")
    if _dig(obj, "spec", "suspend") is True:
        return Health("Current", "suspended")
    if _dig(obj, "status", "startTime") is None:
        return Health("InProgress", "not started")
    active, failed = _int(obj, "status", "active"), _int(obj, "status", "failed")
    return Health(
        "InProgress", f"running, active {active}, succeeded {succeeded}/{completions}, failed {failed}"
    )


def _pvc(obj: Obj) -> Health:
    phase = _dig(obj, "status", "phase", default="Pending")
    if phase == "Bound":
        return Health("Current", "Bound")
    if phase == "Lost":
        return Health("Failed", "Lost (its PersistentVolume is gone)")
    return Health("InProgress", f"{phase}, waiting for a volume to bind")


def _service(obj: Obj) -> Health:
    if _dig(obj, "spec", "type") != "LoadBalancer":
        return Health("Current", "ready")
    ingress = _dig(obj, "status", "loadBalancer", "ingress", default=[])
    if ingress:
        first = ingress[0] if isinstance(ingress[0], Mapping) else {}
        address = first.get("ip") or first.get("hostname") or "assigned"
        return Health("Current", f"load balancer at {address}")
    return Health("InProgress", "waiting for a load balancer address")


def _crd(obj: Obj) -> Health:
    names = _condition(obj, "NamesAccepted")
    if names is not None and names.get("status") == "False":
        return Health("Failed", f"names not accepted ({_why(names)})")
    if _is_true(obj, "Established"):
        return Health("Current", "Established")
    why = _why(_condition(obj, "Established"))
    return Health("InProgress", "not Established yet" + (f" ({why})" if why else ""))


def _apiservice(obj: Obj) -> Health:
    if _is_true(obj, "Available"):
        return Health("Current", "Available")
    why = _why(_condition(obj, "Available"))
    return Health("InProgress", "not Available" + (f" ({why})" if why else ""))


def _container_failure(pod: Obj) -> str | None:
    """'container X: Reason (details)' for the first container stuck in a fatal waiting state."""
    for field in ("initContainerStatuses", "containerStatuses"):
        statuses = _dig(pod, "status", field, default=[])
        for status in statuses if isinstance(statuses, list) else []:
            waiting = _dig(status, "state", "waiting", default={})
            reason = _dig(waiting, "reason", default="")
            if reason not in FATAL_WAITING_REASONS:
                continue
            details = [str(waiting["message"])] if waiting.get("message") else []
            last = _dig(status, "lastState", "terminated")
            if isinstance(last, Mapping):
                details.append(
                    f"last exit code {last.get('exitCode')}" + (f" {last['reason']}" if last.get("reason") else "")
                )
            details.append(f"restarts {_int(status, 'restartCount')}")
            return f"container {status.get('name')}: {reason} ({'; '.join(details)})"
    return None


def _pod(obj: Obj) -> Health:
    phase = _dig(obj, "status", "phase", default="Pending")
    if phase == "Failed":
        why = ": ".join(str(p) for p in (_dig(obj, "status", "reason"), _dig(obj, "status", "message")) if p)
        return Health("Failed", "phase Failed" + (f" ({why})" if why else ""))
    failure = _container_failure(obj)
    if failure is not None:
        return Health("Failed", failure)
    if phase == "Succeeded":
        return Health("Current", "Succeeded")
    if phase == "Running" and _is_true(obj, "Ready"):
        return Health("Current", "Running and Ready")
    blocker = _condition(obj, "PodScheduled") if not _is_true(obj, "PodScheduled") else _condition(obj, "Ready")
    why = _why(blocker)
    return Health("InProgress", f"{phase}, not Ready" + (f" ({why})" if why else ""))


def _namespace(obj: Obj) -> Health:
    phase = _dig(obj, "status", "phase", default="")
    if phase == "Active":
        return Health("Current", "Active")
    if phase == "Terminating":
        return Health("Terminating", "Terminating")
    return Health("InProgress", "waiting for phase Active")


def _ready(obj: Obj) -> Health:
    """For kinds whose controller reports only through ``Ready``: no condition yet is not ready."""
    if _condition(obj, "Ready") is None:
        return Health("InProgress", "not Ready (no Ready condition yet)")
    return _ready_condition(obj)


RULES: dict[str, Rule] = {
    "deployment": _deployment,
    "statefulset": _statefulset,
    "daemonset": _daemonset,
    "replicaset": _replicaset,
    "job": _job,
    "pvc": _pvc,
    "service": _service,
    "pod": _pod,
    "namespace": _namespace,
    "crd": _crd,
    "apiservice": _apiservice,
    "ready": _ready,
}
"""Rule name (the ``health`` column of ``kfdeploy.kinds``) -> rule. A rule sees an object past the
generic checks and returns its health."""


# --- precedence chain ------------------------------------------------------------------------


def _generic_checks(obj: Obj) -> Health | None:
    if _dig(obj, "metadata", "deletionTimestamp") is not None:
        return Health("Terminating", "being deleted")
    generation = _int(obj, "metadata", "generation")
    observed = _dig(obj, "status", "observedGeneration")
    if isinstance(observed, int) and generation > observed:
        return Health("InProgress", f"waiting for the controller to observe generation {generation}")
    if _is_true(obj, "Stalled"):
        return Health("Failed", f"Stalled ({_why(_condition(obj, 'Stalled'))})")
    if _is_true(obj, "Reconciling"):
        return Health("InProgress", f"Reconciling ({_why(_condition(obj, 'Reconciling'))})")
    return None


def _ready_condition(obj: Obj) -> Health:
    ready = _condition(obj, "Ready")
    if ready is None or ready.get("status") == "True":
        return Health("Current", "ready" if ready is None else "Ready")
    why = _why(ready)
    return Health("InProgress", "not Ready" + (f" ({why})" if why else ""))


def assess(obj: Obj | None) -> Health:
    """The health of a live object; ``None`` means it does not exist."""
    if obj is None:
        return Health("NotFound", "not found")
    early = _generic_checks(obj)
    if early is not None:
        return early
    rule = RULES.get(rule_of(obj).health)
    return rule(obj) if rule is not None else _ready_condition(obj)


AppHealth = Literal["Healthy", "Progressing", "Degraded", "Missing"]


def application_health(statuses: Iterable[Status]) -> AppHealth:
    """One application's verdict (``kfdeploy status``) from the health of its objects: Missing
    when none exists, Degraded when one failed or is missing, Progressing while one is not yet
    Current, else Healthy."""
    found = list(statuses)
    missing = found.count("NotFound")
    if missing == len(found):
        return "Missing"
    if "Failed" in found or missing:
        return "Degraded"
    if any(s != "Current" for s in found):
        return "Progressing"
    return "Healthy"


def pod_failure(pods: Iterable[Obj]) -> Health | None:
    """The first of a workload's pods stuck in CrashLoopBackOff (or another fatal waiting state),
    so the engine can fail a rollout at once instead of waiting for the deadline."""
    for pod in pods:
        failure = _container_failure(pod)
        if failure is not None:
            return Health("Failed", f"{describe(pod)}: {failure}")
    return None
