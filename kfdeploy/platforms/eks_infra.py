"""The AWS resources an EKS cluster stands on: two IAM roles and, unless given, a VPC.

Each is found by name or tag first and created only when missing, so an interrupted create
resumes where it stopped. Everything kfdeploy creates carries the tag
``kfdeploy.io/cluster=<name>``; deletion removes only resources with that tag, never a role or
VPC the user brought.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from kfdeploy.errors import PlatformError
from kfdeploy.labels import CLUSTER_TAG
from kfdeploy.platforms import Progress
from kfdeploy.platforms.eks_errors import Ctx, aws_call, aws_find, error_code

TAG = CLUSTER_TAG
VPC_CIDR = "192.168.0.0/16"
SUBNET_CIDRS = ("192.168.0.0/18", "192.168.64.0/18", "192.168.128.0/18", "192.168.192.0/18")
ZONES = 2
# Zones where EKS cannot place a control plane (EKS user guide, "Subnet requirements").
EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})


@dataclass(frozen=True)
class RoleSpec:
    """An IAM role kfdeploy needs: who may assume it and which AWS managed policies it holds."""

    suffix: str
    service: str
    policies: tuple[str, ...]


CLUSTER_ROLE = RoleSpec("cluster", "eks.amazonaws.com", ("AmazonEKSClusterPolicy",))
NODE_ROLE = RoleSpec("node", "ec2.amazonaws.com", (
    "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"))


def role_name(cluster: str, suffix: str) -> str:
    """``kfdeploy-<cluster>-<suffix>``, shortened with a hash to IAM's 64 characters."""
    name = f"kfdeploy-{cluster}-{suffix}"
    if len(name) <= 64:
        return name
    digest = hashlib.sha256(cluster.encode()).hexdigest()[:8]
    return f"kfdeploy-{cluster[:64 - 19 - len(suffix)]}-{digest}-{suffix}"


def trust_policy(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def aws_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def ensure_role(iam: Any, cluster: str, role: RoleSpec, partition: str, progress: Progress
                ) -> tuple[str, bool]:
    """The role's ARN (created if missing, missing policies attached); True if created."""
    name = role_name(cluster, role.suffix)
    ctx = Ctx(f"creating IAM role {name}")
    found = aws_find(iam, "get_role", ctx, ["NoSuchEntity"], RoleName=name)
    if found:
        progress(f"reusing IAM role {name}")
        arn, created = str(found["Role"]["Arn"]), False
    else:
        progress(f"creating IAM role {name} (assumed by {role.service})")
        made = aws_call(iam, "create_role", ctx, RoleName=name,
                        AssumeRolePolicyDocument=trust_policy(role.service),
                        Description=f"kfdeploy: {role.suffix} role of EKS cluster {cluster}",
                        Tags=aws_tags({TAG: cluster}))
        arn, created = str(made["Role"]["Arn"]), True
    attached = aws_call(iam, "list_attached_role_policies", ctx, RoleName=name)
    have = {p["PolicyArn"] for p in attached.get("AttachedPolicies", [])}
    for policy in role.policies:
        policy_arn = f"arn:{partition}:iam::aws:policy/{policy}"
        if policy_arn not in have:
            aws_call(iam, "attach_role_policy", Ctx(f"attaching {policy} to IAM role {name}"),
                     RoleName=name, PolicyArn=policy_arn)
    return arn, created


def delete_role(iam: Any, cluster: str, role: RoleSpec, progress: Progress) -> None:
    """Delete the role if kfdeploy created it for this cluster (tagged); keep it otherwise."""
    name = role_name(cluster, role.suffix)
    ctx = Ctx(f"deleting IAM role {name}")
    found = aws_find(iam, "get_role", ctx, ["NoSuchEntity"], RoleName=name)
    if not found:
        return
    tags = {t["Key"]: t["Value"] for t in found["Role"].get("Tags", [])}
    if tags.get(TAG) != cluster:
        progress(f"keeping IAM role {name}: kfdeploy did not create it (no tag {TAG}={cluster})")
        return
    for p in aws_call(iam, "list_attached_role_policies", ctx, RoleName=name)["AttachedPolicies"]:
        aws_call(iam, "detach_role_policy", ctx, RoleName=name, PolicyArn=p["PolicyArn"])
    for inline in aws_call(iam, "list_role_policies", ctx, RoleName=name)["PolicyNames"]:
        aws_call(iam, "delete_role_policy", ctx, RoleName=name, PolicyName=inline)
    profiles = aws_call(iam, "list_instance_profiles_for_role", ctx, RoleName=name)
    for profile in profiles["InstanceProfiles"]:
        aws_call(iam, "remove_role_from_instance_profile", ctx, RoleName=name,
                 InstanceProfileName=profile["InstanceProfileName"])
    aws_call(iam, "delete_role", ctx, RoleName=name)
    progress(f"deleted IAM role {name}")


def pick_zones(zones: Sequence[Mapping[str, Any]], offered: Mapping[str, set[str]],
               instance_types: Sequence[str], region: str) -> list[str]:
    """Two zones EKS serves, preferring zones that offer every node group's instance type
    (GPU types are offered in few zones); an instance type offered in no zone is an error."""
    usable = [z["ZoneName"] for z in zones if z.get("State", "available") == "available"
              and z.get("ZoneType", "availability-zone") == "availability-zone"
              and z.get("ZoneId") not in EKS_UNSUPPORTED_ZONE_IDS]
    nowhere = [t for t in instance_types if not offered.get(t)]
    if nowhere:
        raise PlatformError(
            f"instance type {nowhere[0]} is not offered in any zone of region {region}",
            hint="pick another instance type in spec.platform.eks.cluster.nodeGroups, or "
                 "another region (spec.platform.eks.region)")
    best = [z for z in usable if all(z in offered[t] for t in instance_types)]
    ordered = best + [z for z in usable if z not in best]
    if len(ordered) < ZONES:
        raise PlatformError(f"region {region} has fewer than {ZONES} availability zones EKS "
                            "can use", hint="pick another region (spec.platform.eks.region)")
    return ordered[:ZONES]


def vpc_of(ec2: Any, cluster: str) -> str | None:
    """The VPC kfdeploy created for this cluster, found by its tag."""
    found = aws_call(ec2, "describe_vpcs", Ctx("looking up the cluster's VPC"),
                     Filters=[{"Name": f"tag:{TAG}", "Values": [cluster]}])
    vpcs = found.get("Vpcs", [])
    return str(vpcs[0]["VpcId"]) if vpcs else None


def zone_offerings(ec2: Any, instance_types: Sequence[str]) -> dict[str, set[str]]:
    """Instance type -> the zones of the region that offer it."""
    ctx = Ctx("looking up which zones offer the node groups' instance types")
    found = aws_call(ec2, "describe_instance_type_offerings", ctx,
                     LocationType="availability-zone",
                     Filters=[{"Name": "instance-type", "Values": list(instance_types)}])
    offered: dict[str, set[str]] = {t: set() for t in instance_types}
    for o in found.get("InstanceTypeOfferings", []):
        offered.setdefault(o["InstanceType"], set()).add(o["Location"])
    return offered


def ensure_network(ec2: Any, cluster: str, region: str, instance_types: Sequence[str],
                   progress: Progress) -> list[str]:
    """Subnet ids of the cluster's own VPC: public subnets in two zones with an internet
    gateway, created or completed as needed."""
    tags = aws_tags({TAG: cluster, "Name": f"kfdeploy-{cluster}"})
    vpc = vpc_of(ec2, cluster)
    if vpc:
        progress(f"reusing VPC {vpc} of cluster {cluster}")
    else:
        ctx = Ctx(f"creating a VPC for cluster {cluster}")
        vpc = str(aws_call(ec2, "create_vpc", ctx, CidrBlock=VPC_CIDR, TagSpecifications=[
            {"ResourceType": "vpc", "Tags": tags}])["Vpc"]["VpcId"])
        for attr in ("EnableDnsSupport", "EnableDnsHostnames"):
            aws_call(ec2, "modify_vpc_attribute", ctx, VpcId=vpc, **{attr: {"Value": True}})
        progress(f"created VPC {vpc} ({VPC_CIDR})")
    table = _ensure_routes(ec2, cluster, vpc, tags)
    return _ensure_subnets(ec2, cluster, vpc, table, region, instance_types, tags, progress)


def _ensure_routes(ec2: Any, cluster: str, vpc: str, tags: list[dict[str, str]]) -> str:
    """An internet gateway and a route table sending 0.0.0.0/0 to it; the table's id."""
    ctx = Ctx(f"setting up internet access for VPC {vpc}")
    gws = aws_call(ec2, "describe_internet_gateways", ctx,
                   Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])["InternetGateways"]
    if gws:
        gw = str(gws[0]["InternetGatewayId"])
    else:
        gw = str(aws_call(ec2, "create_internet_gateway", ctx, TagSpecifications=[
            {"ResourceType": "internet-gateway", "Tags": tags}])["InternetGateway"]
            ["InternetGatewayId"])
        aws_call(ec2, "attach_internet_gateway", ctx, InternetGatewayId=gw, VpcId=vpc)
    tables = aws_call(ec2, "describe_route_tables", ctx, Filters=[
        {"Name": "vpc-id", "Values": [vpc]},
        {"Name": f"tag:{TAG}", "Values": [cluster]}])["RouteTables"]
    if tables:
        return str(tables[0]["RouteTableId"])
    table = str(aws_call(ec2, "create_route_table", ctx, VpcId=vpc, TagSpecifications=[
        {"ResourceType": "route-table", "Tags": tags}])["RouteTable"]["RouteTableId"])
    aws_call(ec2, "create_route", ctx, RouteTableId=table, DestinationCidrBlock="0.0.0.0/0",
             GatewayId=gw)
    return table


def _ensure_subnets(ec2: Any, cluster: str, vpc: str, table: str, region: str,
                    instance_types: Sequence[str], tags: list[dict[str, str]],
                    progress: Progress) -> list[str]:
    ctx = Ctx(f"creating subnets in VPC {vpc}")
    have = aws_call(ec2, "describe_subnets", ctx,
                    Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    if len(have) >= ZONES:
        return [str(s["SubnetId"]) for s in sorted(have, key=lambda s: s["AvailabilityZone"])]
    zones_found = aws_call(ec2, "describe_availability_zones", ctx)["AvailabilityZones"]
    zones = pick_zones(zones_found, zone_offerings(ec2, instance_types), instance_types, region)
    used_zones = {s["AvailabilityZone"] for s in have}
    free_cidrs = [c for c in SUBNET_CIDRS if c not in {s["CidrBlock"] for s in have}]
    subnet_tags = tags + aws_tags({"kubernetes.io/role/elb": "1",
                                   f"kubernetes.io/cluster/{cluster}": "shared"})
    ids = [str(s["SubnetId"]) for s in have]
    for zone, cidr in zip([z for z in zones if z not in used_zones], free_cidrs, strict=False):
        subnet = str(aws_call(ec2, "create_subnet", ctx, VpcId=vpc, CidrBlock=cidr,
                              AvailabilityZone=zone, TagSpecifications=[
                                  {"ResourceType": "subnet", "Tags": subnet_tags}]
                              )["Subnet"]["SubnetId"])
        aws_call(ec2, "modify_subnet_attribute", ctx, SubnetId=subnet,
                 MapPublicIpOnLaunch={"Value": True})
        aws_call(ec2, "associate_route_table", ctx, RouteTableId=table, SubnetId=subnet)
        progress(f"created subnet {subnet} ({cidr}) in {zone}")
        ids.append(subnet)
    return ids


def delete_network(ec2: Any, cluster: str, progress: Progress,
                   retry: Callable[[Callable[[], Any], str], Any]) -> None:
    """Delete the VPC kfdeploy created for the cluster and what is in it. ``retry`` repeats a
    call that fails with DependencyViolation (network interfaces of a just-deleted cluster
    linger for minutes)."""
    vpc = vpc_of(ec2, cluster)
    if not vpc:
        return
    ctx = Ctx(f"deleting VPC {vpc} of cluster {cluster}")
    for s in aws_call(ec2, "describe_subnets", ctx,
                      Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
        retry(partial(aws_call, ec2, "delete_subnet", ctx, SubnetId=s["SubnetId"]),
              f"subnet {s['SubnetId']}")
    for t in aws_call(ec2, "describe_route_tables", ctx,
                      Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]:
        associations = t.get("Associations", [])
        if any(a.get("Main") for a in associations):
            continue
        for a in associations:
            aws_find(ec2, "disassociate_route_table", ctx, ["InvalidAssociationID.NotFound"],
                     AssociationId=a["RouteTableAssociationId"])
        aws_call(ec2, "delete_route_table", ctx, RouteTableId=t["RouteTableId"])
    for gw in aws_call(ec2, "describe_internet_gateways", ctx, Filters=[
            {"Name": "attachment.vpc-id", "Values": [vpc]}])["InternetGateways"]:
        aws_call(ec2, "detach_internet_gateway", ctx, InternetGatewayId=gw["InternetGatewayId"],
                 VpcId=vpc)
        aws_call(ec2, "delete_internet_gateway", ctx, InternetGatewayId=gw["InternetGatewayId"])
    retry(partial(aws_call, ec2, "delete_vpc", ctx, VpcId=vpc), f"VPC {vpc}")
    progress(f"deleted VPC {vpc} and its subnets, route table and internet gateway")


def is_dependency_violation(e: BaseException) -> bool:
    cause = e.__cause__
    return isinstance(cause, ClientError) and error_code(cause) == "DependencyViolation"
