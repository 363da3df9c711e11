"""The Pod Security Standards (baseline and restricted, as the API server's PodSecurity admission
enforces them, latest version), as a pure check over a pod spec.

A pod that breaks its namespace's ``pod-security.kubernetes.io/enforce`` level is refused by the
API server on every cluster, kwok included: its workload is accepted (admission only warns) but
never gets a pod. Each violation names the field path inside the pod spec, so a finding can say
exactly what to change. Namespace exemptions of the API server's admission configuration cannot
be seen from a client and are not taken into account.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kfdeploy.findings import Finding, fail, ok
from kfdeploy.kinds import NAMESPACE, group_kind, pod_template, rule_of
from kfdeploy.objects import describe

Obj = dict[str, Any]

ENFORCE = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
SECCOMP_ALLOWED = frozenset({"RuntimeDefault", "Localhost"})


@dataclass(frozen=True)
class Violation:
    """One field of a pod spec that a level forbids: ``field`` is its path inside the pod spec."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


def containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def _each(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(path, container, its securityContext) for every init container and container."""
    for field in ("initContainers", "containers"):
        for c in spec.get(field) or []:
            yield f"{field}[{c.get('name', '?')}]", c, c.get("securityContext") or {}


def baseline(spec: Mapping[str, Any]) -> list[Violation]:
    pod = spec.get("securityContext") or {}
    out = [Violation(k, "host namespaces are forbidden") for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    out += [Violation(f"volumes[{v.get('name')}].hostPath", "hostPath volumes are forbidden")
            for v in spec.get("volumes") or [] if "hostPath" in v]
    out += [Violation("securityContext.sysctls", f"unsafe sysctl {s.get('name')}")
            for s in pod.get("sysctls") or [] if s.get("name") not in SAFE_SYSCTLS]
    out += _seccomp_unconfined("securityContext", pod) + _selinux("securityContext", pod)
    for path, c, sc in _each(spec):
        if sc.get("privileged"):
            out.append(Violation(f"{path}.securityContext.privileged", "privileged containers are forbidden"))
        extra = sorted(set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES)
        if extra:
            out.append(Violation(f"{path}.securityContext.capabilities.add", f"adds {', '.join(extra)}"))
        out += [Violation(f"{path}.ports[{p.get('containerPort')}].hostPort", "host ports are forbidden")
                for p in c.get("ports") or [] if p.get("hostPort")]
        if sc.get("procMount", "Default") != "Default":
            out.append(Violation(f"{path}.securityContext.procMount", f"procMount {sc['procMount']}"))
        out += _seccomp_unconfined(f"{path}.securityContext", sc) + _selinux(f"{path}.securityContext", sc)
    return out


def _seccomp_unconfined(path: str, sc: Mapping[str, Any]) -> list[Violation]:
    kind = (sc.get("seccompProfile") or {}).get("type")
    return [Violation(f"{path}.seccompProfile.type", "Unconfined")] if kind == "Unconfined" else []


def _selinux(path: str, sc: Mapping[str, Any]) -> list[Violation]:
    options = sc.get("seLinuxOptions") or {}
    out = [Violation(f"{path}.seLinuxOptions.{k}", "must not be set") for k in ("user", "role") if options.get(k)]
    if options.get("type", "") not in SELINUX_TYPES:
        out.append(Violation(f"{path}.seLinuxOptions.type", f"type {options['type']} is not allowed"))
    return out


def restricted(spec: Mapping[str, Any]) -> list[Violation]:
    out = baseline(spec)
    pod = spec.get("securityContext") or {}
    for v in spec.get("volumes") or []:
        kinds = sorted(set(v) - {"name"} - RESTRICTED_VOLUMES - {"hostPath"})  # hostPath: said above
        if kinds:
            out.append(Violation(f"volumes[{v.get('name')}].{kinds[0]}", f"{kinds[0]} volumes are forbidden"))
    if pod.get("runAsUser") == 0:
        out.append(Violation("securityContext.runAsUser", "must not be 0"))
    for path, _, sc in _each(spec):
        at = f"{path}.securityContext"
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(Violation(f"{at}.allowPrivilegeEscalation", "must be false"))
        if sc.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
            out.append(Violation(f"{at}.runAsNonRoot", "must be true (here or in the pod's securityContext)"))
        if sc.get("runAsUser") == 0:
            out.append(Violation(f"{at}.runAsUser", "must not be 0"))
        seccomp = (sc.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
        if seccomp not in SECCOMP_ALLOWED and seccomp != "Unconfined":  # Unconfined: said by baseline
            out.append(Violation(f"{at}.seccompProfile.type",
                                 "must be RuntimeDefault or Localhost (here or in the pod's securityContext)"))
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(Violation(f"{at}.capabilities.drop", "must include ALL"))
        extra = sorted((set(caps.get("add") or []) & BASELINE_CAPABILITIES) - {"NET_BIND_SERVICE"})
        if extra:  # beyond the baseline's list: said by baseline
            out.append(Violation(f"{at}.capabilities.add", f"adds {', '.join(extra)} (only NET_BIND_SERVICE)"))
    return out


def violations(level: str, spec: Mapping[str, Any]) -> list[Violation]:
    """What in a pod spec the namespace level ``level`` forbids (privileged: nothing)."""
    if level not in LEVELS:
        return [Violation("", f"unknown Pod Security level {level!r}")]
    return {"privileged": lambda s: [], "baseline": baseline, "restricted": restricted}[level](spec)


def levels(rendered: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
    """namespace -> (enforced level, where it comes from): the spec's Namespace objects over the
    cluster's (apply sets the spec's labels; a label only the cluster has stays)."""
    found: dict[str, tuple[str, str]] = {}
    for source, namespaces in (("the cluster", live), ("the spec", rendered)):
        for ns in namespaces:
            meta = ns.get("metadata") or {}
            level = (meta.get("labels") or {}).get(ENFORCE)
            if isinstance(level, str) and level:
                found[str(meta.get("name"))] = (level, source)
    return found


def pod_spec_path(obj: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """(path of the pod spec inside the object, the pod spec) of a workload, else None."""
    path = rule_of(obj).pod_template
    template = pod_template(obj)
    spec = template.get("spec") if template is not None else None
    if path is None or not isinstance(spec, Mapping):
        return None
    return ".".join((*path, "spec")) + ".", spec


def predict(applications: list[tuple[str, list[Obj]]], live_namespaces: list[Obj]) -> list[Finding]:
    """A FAIL per workload whose pods its namespace's enforced level would refuse."""
    objects = [o for _, objs in applications for o in objs]
    enforced = levels([o for o in objects if group_kind(o) == NAMESPACE], live_namespaces)
    out, checked = [], 0
    for app, objs in applications:
        for obj in objs:
            ns = (obj.get("metadata") or {}).get("namespace", "")
            found = pod_spec_path(obj)
            if found is None or ns not in enforced:
                continue
            checked += 1
            (level, source), (path, spec) = enforced[ns], found
            wrong = violations(level, spec)
            if wrong:
                shown = "; ".join(f"{path}{v}" for v in wrong[:4]) + (f"; and {len(wrong) - 4} more"
                                                                       if len(wrong) > 4 else "")
                out.append(fail("pod-security", describe(obj),
                                f"application {app}: namespace {ns} enforces Pod Security level {level} "
                                f"(its {ENFORCE} label in {source}), which refuses its pods: {shown}",
                                f"set those fields in the pod template (a {level} securityContext), or give "
                                f"namespace {ns} a lower {ENFORCE} level"))
    return out or [ok("pod-security", "pod templates", f"{checked} workload(s) in namespaces that enforce a "
                      "Pod Security level; their pods meet it")]
