"""AWS failures in plain words: which quota, which permission, which spec field, what to do.

Every AWS call of the EKS platform goes through ``aws_call``, which turns botocore's errors into
``PlatformError``. The classification is a table of error codes, so a new code is one line;
the same classes serve node groups that fail after creation (their ``health.issues``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

from kfdeploy.errors import PlatformError

Kind = Literal["quota", "capacity", "denied", "credentials", "invalid", "not-found", "other"]
KINDS: dict[str, Kind] = {
    **dict.fromkeys(["ResourceLimitExceededException", "LimitExceeded", "LimitExceededException",
                     "ServiceQuotaExceededException", "VpcLimitExceeded", "SubnetLimitExceeded",
                     "InternetGatewayLimitExceeded", "AddressLimitExceeded", "VcpuLimitExceeded",
                     "InstanceLimitExceeded", "RouteTableLimitExceeded"], "quota"),
    **dict.fromkeys(["InsufficientCapacityException", "InsufficientInstanceCapacity",
                     "InsufficientCapacity", "UnsupportedAvailabilityZoneException",
                     "Unsupported"], "capacity"),
    **dict.fromkeys(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                     "UnauthorizedException", "Forbidden"], "denied"),
    **dict.fromkeys(["UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken",
                     "ExpiredTokenException", "AuthFailure", "SignatureDoesNotMatch"],
                    "credentials"),
    **dict.fromkeys(["InvalidParameterException", "InvalidParameterValue", "ValidationError",
                     "InvalidParameterCombination", "ValidationException", "InvalidRequestException",
                     "MalformedPolicyDocument", "InvalidSubnetID.NotFound",
                     "InvalidSubnet"], "invalid"),
    **dict.fromkeys(["ResourceNotFoundException", "NoSuchEntity", "InvalidVpcID.NotFound"],
                    "not-found"),
}
# Words of an InvalidParameter message -> the sub-field of the spec it is about.
FIELD_WORDS = [("instance type", ".instanceType"), ("instancetype", ".instanceType"),
               ("amitype", ".amiType"), ("ami type", ".amiType"), ("disksize", ".diskSizeGb"),
               ("taint", ".taints"), ("label", ".labels"), ("scaling", ".scaling"),
               ("desiredsize", ".scaling.desired"), ("maxsize", ".scaling.max"),
               ("minsize", ".scaling.min")]
CLUSTER_FIELD = "spec.platform.eks.cluster"
SUBNETS_FIELD = f"{CLUSTER_FIELD}.vpc.subnetIds"
PERFORM = re.compile(r"perform:? ([a-z0-9-]+:[A-Za-z0-9]+)")
QUOTA_CONSOLE = "https://console.aws.amazon.com/servicequotas/home"


@dataclass(frozen=True)
class Ctx:
    """What kfdeploy was doing, for the message: a phrase, the spec field it came from, and the
    instance types involved (for quota and stock-out hints)."""

    what: str
    field: str | None = None
    instance_types: Sequence[str] = ()


@contextlib.contextmanager
def aws_errors(client: Any, ctx: Ctx, missing: Sequence[str] = ()) -> Iterator[None]:
    """Every AWS error of the block raised as a ``PlatformError``; one whose code is in
    ``missing`` ends the block quietly (the resource is not there)."""
    try:
        yield
    except ClientError as e:
        if error_code(e) in missing:
            return
        raise from_client_error(e, client.meta.service_model.signing_name,
                                client.meta.region_name, ctx) from e
    except BotoCoreError as e:
        raise from_botocore_error(e, ctx) from e


def aws_call(client: Any, method: str, ctx: Ctx, **params: Any) -> dict[str, Any]:
    """``client.<method>(**params)``, with every AWS error raised as a ``PlatformError``."""
    with aws_errors(client, ctx):
        result: dict[str, Any] = getattr(client, method)(**params)
    return result


def aws_find(client: Any, method: str, ctx: Ctx, missing: Sequence[str], **params: Any
             ) -> dict[str, Any] | None:
    """Like ``aws_call``, but None when AWS answers with one of the ``missing`` error codes."""
    result: dict[str, Any] | None = None
    with aws_errors(client, ctx, missing):
        result = getattr(client, method)(**params)
    return result


def aws_pages(client: Any, method: str, ctx: Ctx, key: str, **params: Any) -> list[Any]:
    """Every ``key`` item of a paginated call, with errors mapped like ``aws_call``."""
    items: list[Any] = []
    with aws_errors(client, ctx):
        for page in client.get_paginator(method).paginate(**params):
            items += page.get(key, [])
    return items


def error_code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def from_client_error(e: ClientError, service: str, region: str, ctx: Ctx) -> PlatformError:
    """A PlatformError for an AWS error response."""
    code = error_code(e)
    message = str(e.response.get("Error", {}).get("Message", "")) or str(e)
    action = f"{service}:{e.operation_name}"
    kind = KINDS.get(code, "other")
    if kind == "capacity":
        zones = e.response.get("validZones") or []
        return capacity_error(ctx, message, zones)
    if kind == "quota":
        return quota_error(ctx, message, service, region, e.operation_name)
    if kind == "denied":
        return denied_error(ctx, message, action)
    if kind == "credentials":
        return PlatformError(f"AWS did not accept the credentials while {ctx.what}: {message}",
                             hint="refresh them (`aws sso login`, or new access keys), or pick "
                                  "a profile with AWS_PROFILE; check with "
                                  "`aws sts get-caller-identity`")
    if kind == "invalid":
        return invalid_error(ctx, message, code)
    if kind == "not-found":
        return PlatformError(f"not found while {ctx.what}: {message}",
                             hint=f"check {ctx.field} in the spec" if ctx.field else None)
    return PlatformError(f"AWS error {code or 'unknown'} in {action} while {ctx.what}: {message}")


def from_botocore_error(e: BotoCoreError, ctx: Ctx) -> PlatformError:
    """A PlatformError for failures before AWS answered (credentials, network, region)."""
    if isinstance(e, NoCredentialsError):
        return PlatformError(f"no AWS credentials found while {ctx.what}",
                             hint="run `aws configure` or `aws sso login`, or set AWS_PROFILE "
                                  "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    if isinstance(e, EndpointConnectionError):
        return PlatformError(f"cannot reach AWS while {ctx.what}: {e}",
                             hint="check the network and proxy settings, and "
                                  "KFDEPLOY_AWS_ENDPOINT if it is set")
    if isinstance(e, NoRegionError):
        return PlatformError(f"no AWS region while {ctx.what}",
                             hint="set spec.platform.eks.region")
    return PlatformError(f"AWS client error while {ctx.what}: {e}")


def capacity_error(ctx: Ctx, message: str, zones: Sequence[str] = ()) -> PlatformError:
    """GPU stock-outs and zones EKS does not serve: try other zones or instance types."""
    types = ", ".join(ctx.instance_types) or "the requested instances"
    where = f"use subnets in these zones: {', '.join(zones)}" if zones else \
        f"use subnets in other availability zones ({SUBNETS_FIELD})"
    hint = (f"{where}; capacity for {types} varies by zone and hour, so also try another "
            f"instance type" + (f" ({ctx.field}.instanceType)" if ctx.field else "") +
            " or re-run later")
    return PlatformError(f"AWS has no capacity while {ctx.what}: {message}", hint=hint)


def quota_error(ctx: Ctx, message: str, service: str, region: str, operation: str
                ) -> PlatformError:
    """Which quota to raise, and where."""
    name = instance_quota(ctx.instance_types) if ctx.instance_types else \
        f"the {quota_service(service, operation)} quota named in the message"
    code = "ec2" if ctx.instance_types else quota_service(service, operation)
    hint = (f"request more of {name} at {QUOTA_CONSOLE}?region={region} (or `aws "
            f"service-quotas list-service-quotas --service-code {code} --region {region}`), or "
            "delete unused resources of that kind")
    return PlatformError(f"AWS quota reached while {ctx.what}: {message}", hint=hint)


def instance_quota(instance_types: Sequence[str]) -> str:
    """The EC2 vCPU quota that limits these instance types."""
    fam = instance_types[0].split(".", 1)[0].lower()
    for prefix, quota in (("inf", "Inf"), ("trn", "Trn"), ("vt", "G and VT"), ("g", "G and VT"),
                          ("p", "P"), ("dl", "DL"), ("f", "F"), ("x", "X")):
        if fam.startswith(prefix):
            return f"'Running On-Demand {quota} instances' (vCPUs)"
    return "'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances' (vCPUs)"


def quota_service(service: str, operation: str) -> str:
    """Service Quotas' code: VPC limits are under ``vpc``, not ``ec2``."""
    if service == "ec2" and re.search(r"Vpc|Subnet|Gateway|RouteTable|Address", operation):
        return "vpc"
    return service


def denied_error(ctx: Ctx, message: str, action: str) -> PlatformError:
    """Name the denied action (the message's own if it gives one, e.g. iam:PassRole)."""
    found = PERFORM.search(message)
    denied = found.group(1) if found else action
    return PlatformError(
        f"AWS denied {denied} while {ctx.what}: {message}",
        hint=f"grant {denied} to the identity kfdeploy runs as (see `aws sts "
             "get-caller-identity`), or use a profile that has it (AWS_PROFILE)")


def invalid_error(ctx: Ctx, message: str, code: str) -> PlatformError:
    """Name the spec field the rejected parameter came from."""
    field = spec_field(ctx.field, message, code)
    return PlatformError(f"AWS rejected {field} while {ctx.what}: {message}",
                         hint=f"fix {field} in the spec and re-run")


def spec_field(base: str | None, message: str, code: str) -> str:
    """The spec field path a parameter error is about, as precise as the message allows."""
    low = message.lower()
    if "subnet" in low or code.startswith("InvalidSubnet"):
        return SUBNETS_FIELD
    if "version" in low and (base is None or base == CLUSTER_FIELD):
        return f"{CLUSTER_FIELD}.version"
    if base and base.startswith(f"{CLUSTER_FIELD}.nodeGroups"):
        return base + next((sub for word, sub in FIELD_WORDS if word in low), "")
    return base or CLUSTER_FIELD


def nodegroup_failure(name: str, nodegroup: dict[str, Any], ctx: Ctx, region: str
                      ) -> PlatformError:
    """A node group that ended CREATE_FAILED/DEGRADED: classify its health issues like errors."""
    issues = (nodegroup.get("health") or {}).get("issues") or []
    text = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in issues) or "no detail given"
    blob = text.lower()
    retry = (f"delete it (`aws eks delete-nodegroup --cluster-name {nodegroup.get('clusterName')}"
             f" --nodegroup-name {name}`) and re-run")
    if "insufficientinstancecapacity" in blob or "insufficient capacity" in blob:
        err = capacity_error(ctx, text)
    elif "limitexceeded" in blob or "instancelimit" in blob or "quota" in blob:
        err = quota_error(ctx, text, "ec2", region, "RunInstances")
    else:
        err = PlatformError(f"{ctx.what} failed: {text}",
                            hint="see `aws eks describe-nodegroup` and the Auto Scaling group's "
                                 "activity for details")
    return PlatformError(f"node group {name} is {nodegroup.get('status')}: {err.message}",
                         hint=f"{err.hint}; then {retry}")
