"""The Pod Security Standards (baseline and restricted, as the API server's PodSecurity admission
enforces them since Kubernetes 1.25), as a pure check over a pod spec: a pod that breaks its
namespace's level is never created on any cluster, kwok included, so every Deployment behind it
stays unavailable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
SECCOMP_ALLOWED = frozenset({"RuntimeDefault", "Localhost"})


def containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def baseline(spec: Mapping[str, Any]) -> list[str]:
    problems = [f"host namespace {k}" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    problems += [f"hostPath volume {v['name']}" for v in spec.get("volumes") or [] if "hostPath" in v]
    for c in containers(spec):
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            problems.append(f"{c['name']}: privileged")
        extra = set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if extra:
            problems.append(f"{c['name']}: adds capabilities {sorted(extra)}")
        if any(p.get("hostPort") for p in c.get("ports") or []):
            problems.append(f"{c['name']}: hostPort")
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{c['name']}: seccomp Unconfined")
    return problems


def restricted(spec: Mapping[str, Any]) -> list[str]:
    problems = baseline(spec)
    pod = spec.get("securityContext") or {}
    for v in spec.get("volumes") or []:
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            problems.append(f"volume {v['name']} of type {sorted(kinds)}")
    for c in containers(spec):
        sc = c.get("securityContext") or {}
        name = c["name"]
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if not sc.get("runAsNonRoot", pod.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot is not true")
        if sc.get("runAsUser", pod.get("runAsUser")) == 0:
            problems.append(f"{name}: runAsUser 0")
        seccomp = (sc.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
        if seccomp not in SECCOMP_ALLOWED:
            problems.append(f"{name}: seccompProfile {seccomp}")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problems.append(f"{name}: does not drop ALL capabilities")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: adds capabilities beyond NET_BIND_SERVICE")
    return problems


def violations(level: str, spec: Mapping[str, Any]) -> list[str]:
    """What in a pod spec the namespace level ``level`` rejects."""
    if level not in LEVELS:
        return [f"unknown Pod Security level {level!r}"]
    return {"privileged": lambda s: [], "baseline": baseline, "restricted": restricted}[level](spec)
