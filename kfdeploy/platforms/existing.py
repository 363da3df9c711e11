"""The existing platform: a cluster someone else runs, reached through a kubeconfig context.

Nothing is created or deleted here; the cluster is checked to answer (GET /version) before any
other step changes it, so a wrong context fails in seconds with a message naming it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kfdeploy.errors import PlatformError
from kfdeploy.kube.client import Cluster, KubeApiError, TransportError
from kfdeploy.kube.nodes import node_summary
from kfdeploy.kube.transport import KubeconfigError, merged
from kfdeploy.platforms import ClusterInfo, NoCloudChecks, Progress, no_progress
from kfdeploy.platforms import _kube as kube

if TYPE_CHECKING:
    from kfdeploy.spec import ExistingPlatform as ExistingSettings
    from kfdeploy.spec import KfDef

REACH_TIMEOUT = 5.0


def resolve_kubeconfig(configured: str | None, base_dir: Path, env: dict[str, str]) -> Path:
    """The spec's kubeconfig (relative to the spec file), else the first $KUBECONFIG entry,
    else ~/.kube/config."""
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else base_dir / path
    first = (env.get("KUBECONFIG") or "").split(os.pathsep)[0]
    return Path(first).expanduser() if first else Path.home() / ".kube" / "config"


class ExistingPlatform(NoCloudChecks):
    """``Platform`` for ``spec.platform.kind: existing``."""

    def kubeconfig(self, spec: KfDef) -> Path:
        return resolve_kubeconfig(_settings(spec).kubeconfig, spec.base_dir, dict(os.environ))

    def context(self, spec: KfDef) -> str:
        return _settings(spec).context

    def ensure_cluster(self, spec: KfDef, progress: Progress) -> ClusterInfo:
        path, context = self.kubeconfig(spec), self.context(spec)
        progress(f"checking that context {context} in {path} answers ...")
        api = self._api(path, context)
        try:
            version = self._reach(api, path, context)
            progress(f"context {context} answers: Kubernetes {version}")
            nodes = node_summary(api)["nodes"]
        finally:
            api.close()
        return ClusterInfo(name=spec.metadata.name, kubeconfig=path, context=context,
                           created=False, nodes=nodes)

    def delete_cluster(self, spec: KfDef, progress: Progress = no_progress) -> None:
        raise PlatformError(
            f"platform existing: kfdeploy does not delete the cluster of context "
            f"{self.context(spec)}, which it did not create",
            hint="use `kfdeploy delete` to remove what kfdeploy installed in it")

    def describe(self, spec: KfDef) -> dict[str, Any]:
        return {"platform": "existing", "name": spec.metadata.name,
                "kubeconfig": str(self.kubeconfig(spec)), "context": self.context(spec)}

    @staticmethod
    def _api(path: Path, context: str) -> Cluster:
        if not path.is_file():
            raise PlatformError(f"kubeconfig {path} does not exist",
                                hint="set spec.platform.existing.kubeconfig or $KUBECONFIG")
        known = _contexts(path)
        if context not in known:
            raise PlatformError(
                f"context {context!r} is not in kubeconfig {path}",
                hint=f"set spec.platform.existing.context to one of: {', '.join(known)}"
                if known else "the file has no contexts; is it a kubeconfig?")
        try:
            return kube.connect(path, context)
        except PlatformError as e:
            raise PlatformError(f"context {context!r} in kubeconfig {path} is not usable: {e}",
                                hint=f"check it with `kubectl --kubeconfig {path} --context "
                                     f"{context} version`") from e

    @staticmethod
    def _reach(api: Cluster, path: Path, context: str) -> str:
        try:
            return kube.server_version(api, timeout=REACH_TIMEOUT)
        except kube.UNREACHABLE as e:
            reason = _cause(e)
            raise PlatformError(
                f"cannot reach the cluster of context {context!r} (kubeconfig {path}): {reason}",
                hint=f"check that it is running and that `kubectl --kubeconfig {path} "
                     f"--context {context} version` works") from e


def _settings(spec: KfDef) -> ExistingSettings:
    """``spec.platform.existing`` (the spec model guarantees it when kind is existing)."""
    from kfdeploy.spec import ExistingPlatform as ExistingSettings
    settings = spec.spec.platform.settings
    if not isinstance(settings, ExistingSettings):
        raise PlatformError(f"{spec.source}: spec.platform.kind is {spec.spec.platform.kind!r}, "
                            "not existing")
    return settings


def _cause(error: Exception) -> str:
    """The underlying reason of a failed request, in a few words."""
    if isinstance(error, TransportError):
        return error.cause
    if isinstance(error, KubeApiError):
        return f"HTTP {error.status} {error.reason}: {error.message}"
    return error.message if isinstance(error, PlatformError) else str(error)


def _contexts(path: Path) -> list[str]:
    """Context names in a kubeconfig, for the hint (empty when the file cannot be read)."""
    try:
        return list(merged([path])[0]["contexts"])
    except (KubeconfigError, OSError, ValueError, TypeError, AttributeError):
        return []
