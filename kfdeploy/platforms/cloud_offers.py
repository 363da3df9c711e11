"""Is what the spec asks a cloud for offered where it asks? Pure decisions over what the cloud
said (GKE server config and Compute Engine zones, EC2 instance-type offerings), shared by gke and
eks, as pre-flight findings: a node pool whose machine or GPU type a zone lacks fails in the
middle of cluster creation, after minutes of provisioning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kfdeploy.findings import Finding, fail, ok, warn

CHECK = "cloud"


def version_offered(wanted: str, offered: Sequence[str]) -> bool:
    """``1.33`` is offered when some offered version is 1.33 or 1.33.x (GKE: 1.33.5-gke.1200)."""
    return any(v == wanted or v.startswith(wanted + ".") or v.startswith(wanted + "-") for v in offered)


def version_finding(platform: str, where: str, wanted: str, offered: Sequence[str]) -> Finding:
    obj = f"{platform} Kubernetes {wanted or '(default)'}"
    if not wanted or version_offered(wanted, offered):
        return ok(CHECK, obj, f"offered in {where}")
    minors = sorted({".".join(v.split(".")[:2]) for v in offered}, key=lambda v: [int(x) for x in v.split(".")
                                                                                   if x.isdigit()])
    return fail(CHECK, obj, f"not offered in {where} (offered: {', '.join(minors) or 'none'})",
                "set the cluster version to an offered one")


def zone_findings(what: str, kind: str, wanted: str, zones: Sequence[str], offered_in: Mapping[str, bool],
                  zones_chosen: bool) -> list[Finding]:
    """``wanted`` (a machine or GPU type) against the zones nodes may land in: FAIL when no zone
    offers it, or one the spec names does not; WARN when the cloud picks zones and some lack it."""
    lacking = [z for z in zones if not offered_in.get(z)]
    obj = f"{what}: {kind} {wanted}"
    if not lacking:
        return [ok(CHECK, obj, f"offered in {', '.join(zones)}")]
    if len(lacking) == len(zones):
        return [fail(CHECK, obj, f"not offered in {', '.join(zones)}",
                     f"choose a {kind} offered there, or a location that offers {wanted}")]
    message = f"not offered in {', '.join(lacking)} (offered in {', '.join(z for z in zones if z not in lacking)})"
    if zones_chosen:
        return [fail(CHECK, obj, message, f"place the nodes only in zones that offer {wanted}")]
    return [warn(CHECK, obj, message + "; node creation fails if the cloud places nodes there",
                 f"use a zonal location that offers {wanted}")]
