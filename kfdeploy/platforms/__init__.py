"""Where the platform runs: one small interface, one module per platform.

Everything that creates, reaches or deletes a cluster lives behind ``Platform``, so the rest of
kfdeploy only ever sees a kubeconfig file and a context. Cloud SDK calls and cluster CLIs
(kwokctl, kind, minikube) are confined to the modules of this package.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kfdeploy.errors import PlatformError, UsageError
from kfdeploy.findings import Finding
from kfdeploy.progress import Progress, no_progress

__all__ = ["ClusterInfo", "NoCloudChecks", "Platform", "Progress", "get_platform", "no_progress"]

if TYPE_CHECKING:
    from kfdeploy.spec import KfDef

@dataclass(frozen=True)
class ClusterInfo:
    """A reachable cluster: where its kubeconfig is and whether this call created it."""

    name: str
    kubeconfig: Path
    context: str
    created: bool
    nodes: int


class Platform(Protocol):
    """What every platform provides. Each method takes the whole spec and reads its own block."""

    def ensure_cluster(self, spec: KfDef, progress: Progress) -> ClusterInfo:
        """Create the cluster or reuse and reconcile it; return once it answers."""
        ...

    def kubeconfig(self, spec: KfDef) -> Path:
        """A kubeconfig file usable by the kubernetes client and kubectl."""
        ...

    def delete_cluster(self, spec: KfDef, progress: Progress = no_progress) -> None:
        """Delete the cluster; deleting one that does not exist is not an error."""
        ...

    def describe(self, spec: KfDef) -> dict[str, Any]:
        """Plain data about the cluster (name, kubeconfig, state) for status and -o json."""
        ...

    def preflight(self, spec: KfDef) -> list[Finding]:
        """The platform's own checks of what it would create (what a cloud offers, quotas)."""
        ...


class NoCloudChecks:
    """``Platform.preflight`` for platforms that create nothing a cloud could refuse."""

    def preflight(self, spec: KfDef) -> list[Finding]:
        return []


# spec.platform.kind -> "module:Class"; imported on use so cloud SDKs load only when needed.
PLATFORMS: dict[str, str] = {
    "kwok": "kfdeploy.platforms.kwok:KwokPlatform",
    "existing": "kfdeploy.platforms.existing:ExistingPlatform",
    "eks": "kfdeploy.platforms.eks:EksPlatform",
    "gke": "kfdeploy.platforms.gke:GkePlatform",
    "kind": "kfdeploy.platforms.kind:KindPlatform",
    "minikube": "kfdeploy.platforms.minikube:MinikubePlatform",
}


def get_platform(kind: str) -> Platform:
    """The implementation of ``spec.platform.kind``."""
    target = PLATFORMS.get(kind)
    if target is None:
        raise UsageError(f"unknown platform {kind!r}; one of {', '.join(sorted(PLATFORMS))}")
    module, _, name = target.partition(":")
    try:
        loaded = importlib.import_module(module)
    except ImportError as e:  # cloud SDKs are an optional extra
        raise PlatformError(f"platform {kind!r} needs the Python package {e.name!r}, which is not installed",
                            hint="pip install 'kfdeploy[cloud]'") from e
    platform: Platform = getattr(loaded, name)()
    return platform
