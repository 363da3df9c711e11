"""``spec.platform``: where the platform runs, one block per platform kind.

The block for ``kind: kind`` is named ``kindCluster`` because a YAML mapping cannot hold the
key ``kind`` twice. Defaults that depend on the platform (Kubernetes version, default node pools)
live in ``platforms/<kind>.yaml``; a field left out here means "use that default".
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from kfdeploy.spec.base import (
    DnsLabel,
    Labels,
    NonNegative,
    Quantity,
    SpecModel,
    Taint,
    rule_error,
)

PlatformKind = Literal["gke", "eks", "kind", "minikube", "kwok", "existing"]
PLATFORM_KINDS: tuple[str, ...] = ("gke", "eks", "kind", "minikube", "kwok", "existing")
BLOCK_NAMES: dict[str, str] = {k: ("kindCluster" if k == "kind" else k) for k in PLATFORM_KINDS}
EKS_AMI_TYPES = Literal[
    "AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "AL2023_x86_64_NVIDIA",
    "AL2023_ARM_64_NVIDIA", "AL2023_x86_64_NEURON", "AL2_x86_64", "AL2_x86_64_GPU", "AL2_ARM_64",
    "BOTTLEROCKET_x86_64", "BOTTLEROCKET_ARM_64", "BOTTLEROCKET_x86_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_NVIDIA", "CUSTOM",
]
MinikubeMemory = Annotated[str, Field(pattern=r"^[0-9]+\s*([bkmgtBKMGT][bB]?)?$")]


class Autoscaling(SpecModel):
    """Node count bounds of a GKE node pool; the pool starts at ``min`` (at least one node)."""

    min: NonNegative = Field(1, description="Fewest nodes; 0 lets the pool scale to zero.")
    max: NonNegative = Field(3, description="Most nodes.")

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max}); make min <= max")
        return self


class Accelerator(SpecModel):
    """GPUs attached to every node of a GKE pool."""

    type: str = Field(min_length=1, description="GPU type, e.g. nvidia-tesla-t4, nvidia-l4.")
    count: int = Field(1, ge=1, description="GPUs per node.")
    driver_version: Literal["default", "latest", "disabled"] = Field(
        "default", description="GPU driver GKE installs: default, latest or disabled "
        "(disabled = you install drivers yourself).")


class GkeNodePool(SpecModel):
    """A GKE node pool; add accelerators for GPUs."""

    name: DnsLabel = Field(description="Node pool name.")
    machine_type: str = Field("e2-standard-8", min_length=1, description="Compute Engine machine type.")
    autoscaling: Autoscaling = Field(default_factory=Autoscaling, description="Node count bounds.")
    accelerators: list[Accelerator] = Field([], description="GPUs per node (none = CPU pool).")
    taints: list[Taint] = Field([], description="Node taints.")
    labels: Labels = Field({}, description="Node labels.")
    disk_size_gb: int = Field(100, ge=10, description="Boot disk size in GB.")
    spot: bool = Field(False, description="Use Spot VMs (cheaper, can be preempted).")


class GkeCluster(SpecModel):
    """GKE cluster settings."""

    version: str | None = Field(None, description="GKE version; default: platforms/gke.yaml.")
    node_pools: list[GkeNodePool] = Field([], description="Node pools; empty = platform defaults.")


class GkePlatform(SpecModel):
    """A GKE cluster created (or reused) in a Google Cloud project."""

    project: str = Field(min_length=1, description="Google Cloud project ID.")
    location: str = Field(min_length=1, description="Zone (us-central1-a) or region (us-central1).")
    cluster: GkeCluster = Field(default_factory=GkeCluster, description="Cluster settings.")


class EksScaling(SpecModel):
    """Node count bounds of an EKS managed node group; ``desired`` defaults to ``min``."""

    min: NonNegative = Field(1, description="Fewest nodes.")
    max: NonNegative = Field(3, description="Most nodes (at least 1).")
    desired: NonNegative | None = Field(None, description="Nodes to start with; default: min.")

    @model_validator(mode="after")
    def _ordered(self) -> EksScaling:
        if self.max < 1:
            raise ValueError("max must be at least 1 (EKS node groups cannot have max 0)")
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max}); make min <= max")
        if self.desired is not None and not self.min <= self.desired <= self.max:
            raise ValueError(f"desired ({self.desired}) must be between min ({self.min}) "
                             f"and max ({self.max})")
        return self


class EksNodeGroup(SpecModel):
    """An EKS managed node group; GPU instance types get a GPU AMI."""

    name: DnsLabel = Field(description="Node group name.")
    instance_type: str = Field("m5.xlarge", min_length=1, description="EC2 instance type.")
    scaling: EksScaling = Field(default_factory=EksScaling, description="Node count bounds.")
    taints: list[Taint] = Field([], description="Node taints.")
    labels: Labels = Field({}, description="Node labels.")
    ami_type: EKS_AMI_TYPES | None = Field(
        None, description="EKS AMI type; default: chosen by instance type (a GPU AMI such as "
        "AL2023_x86_64_NVIDIA for GPU instance types).")
    disk_size_gb: int | None = Field(None, ge=20, description="Root volume size in GB; "
                                     "default: the platform's (GPU images need 100+).")


class EksVpc(SpecModel):
    """Existing networking to place the cluster in."""

    subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]+$")]] = Field(
        min_length=2, description="Existing subnets in at least two availability zones.")


class EksCluster(SpecModel):
    """EKS cluster settings."""

    version: str | None = Field(None, description="EKS Kubernetes version; default: platforms/eks.yaml.")
    node_groups: list[EksNodeGroup] = Field([], description="Managed node groups; empty = platform defaults.")
    vpc: EksVpc | None = Field(None, description="Use these subnets; default: create a VPC.")


class EksPlatform(SpecModel):
    """An EKS cluster created (or reused) in an AWS account."""

    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+$", description="AWS region, e.g. us-west-2.")
    cluster: EksCluster = Field(default_factory=EksCluster, description="Cluster settings.")


class KindPlatform(SpecModel):
    """A local kind cluster (Docker)."""

    name: DnsLabel | None = Field(None, description="kind cluster name; default: metadata.name.")
    image: str | None = Field(None, description="Node image, e.g. kindest/node:v1.33.1.")
    gpus: NonNegative = Field(0, description="GPUs to expose to the node (needs the NVIDIA container toolkit).")


class MinikubePlatform(SpecModel):
    """A local minikube cluster."""

    profile: DnsLabel | None = Field(None, description="minikube profile; default: metadata.name.")
    kubernetes_version: str | None = Field(None, description="Kubernetes version, e.g. v1.33.1.")
    gpus: NonNegative = Field(0, description="GPUs to pass through (0 = none).")
    cpus: int | None = Field(None, ge=1, description="CPUs for the VM or container.")
    memory: MinikubeMemory | None = Field(None, description="Memory, e.g. 16g or 16384mb.")


class KwokNodePool(SpecModel):
    """Simulated nodes: a real control plane schedules onto them, kwok fakes the kubelet."""

    name: DnsLabel = Field(description="Pool name; nodes are named <name>-<index>.")
    count: NonNegative = Field(1, description="Number of nodes.")
    cpu: Quantity = Field("8", description="CPU capacity per node.")
    memory: Quantity = Field("32Gi", description="Memory capacity per node.")
    gpus: NonNegative = Field(0, description="nvidia.com/gpu capacity per node.")
    taints: list[Taint] = Field([], description="Node taints.")
    labels: Labels = Field({}, description="Node labels.")


FlagName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]


class KwokPlatform(SpecModel):
    """A local control plane with simulated nodes (no Docker, no cloud)."""

    node_pools: list[KwokNodePool] = Field([], description="Node pools; empty = platform defaults.")
    api_server_args: dict[FlagName, str] = Field(
        {}, description="For tests and benchmarks: extra kube-apiserver flags (name without '--': "
        "value), set when the cluster is created; any one turns kwokctl's 'no request limits' off, "
        "e.g. {max-requests-inflight: '4'} makes the server answer 429 under load.")


class ExistingPlatform(SpecModel):
    """A cluster that already exists, reached through a kubeconfig context."""

    context: str = Field(min_length=1, description="Kubeconfig context name.")
    kubeconfig: str | None = Field(None, description="Kubeconfig file (relative to the spec); "
                                   "default: $KUBECONFIG or ~/.kube/config.")


PlatformSettings = (GkePlatform | EksPlatform | KindPlatform | MinikubePlatform | KwokPlatform
                    | ExistingPlatform)
_OPTIONAL_BLOCKS = {"kind": KindPlatform, "minikube": MinikubePlatform, "kwok": KwokPlatform}


class Platform(SpecModel):
    """The platform kind plus the one settings block named after it."""

    kind: PlatformKind = Field(description="gke | eks | kind | minikube | kwok | existing.")
    gke: GkePlatform | None = Field(None, description="Settings when kind is gke.")
    eks: EksPlatform | None = Field(None, description="Settings when kind is eks.")
    kind_cluster: KindPlatform | None = Field(None, description="Settings when kind is kind.")
    minikube: MinikubePlatform | None = Field(None, description="Settings when kind is minikube.")
    kwok: KwokPlatform | None = Field(None, description="Settings when kind is kwok.")
    existing: ExistingPlatform | None = Field(None, description="Settings when kind is existing.")

    @property
    def settings(self) -> PlatformSettings:
        """The active block; kind, minikube and kwok may leave it out (all defaults)."""
        block: PlatformSettings | None = getattr(self, _attr(self.kind))
        if block is None and self.kind in _OPTIONAL_BLOCKS:
            default: PlatformSettings = _OPTIONAL_BLOCKS[self.kind]()
            return default
        if block is None:
            raise ValueError(f"platform kind {self.kind!r} needs a {BLOCK_NAMES[self.kind]} block")
        return block

    @model_validator(mode="after")
    def _block_matches_kind(self) -> Platform:
        """Exactly the block named after ``kind`` (optional for local kinds), no other."""
        wanted = BLOCK_NAMES[self.kind]
        others = [k for k in PLATFORM_KINDS if k != self.kind and getattr(self, _attr(k))]
        if others:
            other = BLOCK_NAMES[others[0]]
            raise rule_error(other, f"a {other} block is set but kind is {self.kind!r}; "
                             f"set kind: {others[0]}, or replace the block with {wanted}")
        if self.kind not in _OPTIONAL_BLOCKS and getattr(self, _attr(self.kind)) is None:
            raise rule_error(wanted, f"missing; kind {self.kind!r} needs the {wanted} block "
                             f"({_REQUIRED_HINT[self.kind]})")
        return self


_REQUIRED_HINT = {"gke": "with project and location", "eks": "with region",
                  "existing": "with context"}


def _attr(kind: str) -> str:
    """The Python attribute holding the block of a platform kind."""
    return "kind_cluster" if kind == "kind" else kind
