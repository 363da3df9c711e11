"""GKE API failures in plain words, each with the fix.

A failure reaches kfdeploy either as an HTTP error of a call or as the error of a finished
long-running operation (a GPU stock-out usually arrives that way, minutes after the call). Both
are reduced to one ``Failure`` (status name, message, reason) and classified by the rules below,
in order: the message decides before the status code, because GKE reports a quota shortfall as
403 as often as 429, and a stock-out with the same RESOURCE_EXHAUSTED status as a quota.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from google.api_core import exceptions as api
from google.rpc import code_pb2

from kfdeploy.errors import PlatformError
from kfdeploy.platforms.gke_model import FIELD, Target

if TYPE_CHECKING:
    from kfdeploy.spec.platform import GkePlatform as GkeSettings

QUOTA = re.compile(r"insufficient .*quota|quota .*exceeded|exceeded .*quota", re.IGNORECASE)
QUOTA_RESOURCE = re.compile(r"resource \\?\"?'?([A-Z][A-Z0-9_]+)")
STOCKOUT = re.compile(r"ZONE_RESOURCE_POOL_EXHAUSTED|GCE_STOCKOUT|does not have enough resources",
                      re.IGNORECASE)
API_DISABLED = re.compile(r"SERVICE_DISABLED|has not been used in project|API .*is disabled",
                          re.IGNORECASE)
REST_PREFIX = re.compile(r"^[A-Z]+ \S+: ")
GPU_ZONES = "https://cloud.google.com/compute/docs/gpus/gpu-regions-zones"
PERMISSIONS = {"get": "container.clusters.get", "create": "container.clusters.create",
               "update": "container.clusters.update", "delete": "container.clusters.delete"}


@dataclass(frozen=True)
class Failure:
    """What the API said went wrong: canonical status (PERMISSION_DENIED, ...) and message."""

    status: str
    message: str
    reason: str = ""

    @classmethod
    def of_call(cls, e: api.GoogleAPICallError) -> Failure:
        code = getattr(e.grpc_status_code, "name", None)
        status = _payload_status(e) or code or type(e).__name__
        return cls(status, REST_PREFIX.sub("", e.message or str(e)), e.reason or "")

    @classmethod
    def of_operation(cls, code: int, message: str) -> Failure:
        try:
            status = code_pb2.Code.Name(code)
        except ValueError:
            status = "UNKNOWN"
        return cls(status, message)


def _payload_status(e: api.GoogleAPICallError) -> str:
    """The ``error.status`` of a REST error body, when the response is at hand."""
    try:
        return str(e.response.json()["error"]["status"])
    except Exception:  # noqa: BLE001 - any unreadable body just means "unknown"
        return ""


@dataclass(frozen=True)
class Context:
    """What kfdeploy was doing: ``verb`` is get/create/update/delete (picks the permission)."""

    target: Target
    settings: GkeSettings
    doing: str
    verb: str


Rule = Callable[[Failure, Context], PlatformError | None]


def to_platform_error(failure: Failure, ctx: Context) -> PlatformError:
    """The first rule that recognises the failure, else a generic message with the API's words."""
    for rule in RULES:
        error = rule(failure, ctx)
        if error is not None:
            return error
    return PlatformError(
        f"GKE API error while {ctx.doing} ({failure.status}): {failure.message}",
        hint="re-run the command; if it keeps failing, check https://status.cloud.google.com")


def _quota(f: Failure, ctx: Context) -> PlatformError | None:
    if f.status != "RESOURCE_EXHAUSTED" and not QUOTA.search(f.message):
        return None
    found = QUOTA_RESOURCE.search(f.message)
    quota = found.group(1) if found else "a Compute Engine quota"
    project, region = ctx.target.project, ctx.target.region
    return PlatformError(
        f"quota exceeded while {ctx.doing}: {quota} in region {region} of project {project} is "
        f"too low for the requested node pools. GKE said: {f.message}",
        hint=f"request more {quota} quota at https://console.cloud.google.com/iam-admin/quotas"
             f"?project={project} (IAM & Admin > Quotas, filter by {quota} and region {region}), "
             f"or lower {FIELD}.cluster.nodePools[*].autoscaling.min or the accelerator count")


def _stockout(f: Failure, ctx: Context) -> PlatformError | None:
    if not STOCKOUT.search(f.message):
        return None
    wanted = ", ".join(sorted({p.machine_type for p in ctx.settings.cluster.node_pools}
                              | {a.type for p in ctx.settings.cluster.node_pools
                                 for a in p.accelerators})) or "the requested machines"
    return PlatformError(
        f"{ctx.target.location} has no capacity right now for {wanted} (a Compute Engine "
        f"stock-out) while {ctx.doing}. GKE said: {f.message}",
        hint=f"set {FIELD}.location to another zone that offers them (GPU zones: {GPU_ZONES}), "
             f"choose another machineType or accelerator type, or re-run later")


def _api_disabled(f: Failure, ctx: Context) -> PlatformError | None:
    if f.reason != "SERVICE_DISABLED" and not API_DISABLED.search(f.message):
        return None
    project = ctx.target.project
    return PlatformError(
        f"the Kubernetes Engine API is not enabled in project {project}: {f.message}",
        hint=f"enable it: `gcloud services enable container.googleapis.com --project {project}`")


def _permission(f: Failure, ctx: Context) -> PlatformError | None:
    if f.status not in ("PERMISSION_DENIED", "Forbidden"):
        return None
    permission, project = PERMISSIONS.get(ctx.verb, "container.clusters.*"), ctx.target.project
    return PlatformError(
        f"permission denied while {ctx.doing}: the Google Cloud account lacks {permission} in "
        f"project {project}. GKE said: {f.message}",
        hint=f"grant the account roles/container.admin (or roles/container.clusterAdmin plus "
             f"roles/iam.serviceAccountUser): `gcloud projects add-iam-policy-binding {project} "
             f"--member=user:YOU@example.com --role=roles/container.admin`; check which account "
             f"is used with `gcloud auth list`")


def _unauthenticated(f: Failure, ctx: Context) -> PlatformError | None:
    if f.status not in ("UNAUTHENTICATED", "Unauthorized"):
        return None
    return PlatformError(f"Google Cloud rejected the credentials while {ctx.doing}: {f.message}",
                         hint="log in again: `gcloud auth application-default login`")


def _not_found(f: Failure, ctx: Context) -> PlatformError | None:
    if f.status not in ("NOT_FOUND", "NotFound"):
        return None
    t = ctx.target
    return PlatformError(
        f"not found while {ctx.doing}: {f.message}",
        hint=f"check {FIELD}.project ({t.project}) and {FIELD}.location ({t.location}); "
             f"`gcloud container clusters list --project {t.project}` shows what exists")


def _busy(f: Failure, ctx: Context) -> PlatformError | None:
    if f.status != "FAILED_PRECONDITION" or "operation" not in f.message.lower():
        return None
    t = ctx.target
    return PlatformError(
        f"cluster {t.name} is busy with another operation while {ctx.doing}: {f.message}",
        hint=f"wait for it (`gcloud container operations list --location {t.location} "
             f"--project {t.project}`), then re-run")


def _invalid(f: Failure, ctx: Context) -> PlatformError | None:
    if f.status not in ("INVALID_ARGUMENT", "BadRequest", "FAILED_PRECONDITION"):
        return None
    field = field_for(f.message, ctx.settings)
    return PlatformError(f"GKE rejected {field} while {ctx.doing}: {f.message}",
                         hint=f"fix {field} in the spec and re-run")


def field_for(message: str, settings: GkeSettings) -> str:
    """The spec field a rejection most likely refers to: the first spec value it names."""
    lowered = message.lower()
    for i, pool in enumerate(settings.cluster.node_pools):
        at = f"{FIELD}.cluster.nodePools[{i}]"
        for j, accel in enumerate(pool.accelerators):
            if accel.type.lower() in lowered:
                return f"{at}.accelerators[{j}].type"
        if pool.machine_type.lower() in lowered:
            return f"{at}.machineType"
    candidates: Sequence[tuple[str, str]] = (
        ("version", f"{FIELD}.cluster.version"), ("accelerator", f"{FIELD}.cluster.nodePools"),
        ("machine type", f"{FIELD}.cluster.nodePools"), ("taint", f"{FIELD}.cluster.nodePools"),
        ("label", f"{FIELD}.cluster.nodePools"), ("location", f"{FIELD}.location"),
        ("zone", f"{FIELD}.location"), ("project", f"{FIELD}.project"))
    return next((path for word, path in candidates if word in lowered), FIELD)


RULES: tuple[Rule, ...] = (_stockout, _quota, _api_disabled, _permission, _unauthenticated,
                           _not_found, _busy, _invalid)

