"""Verbs about the cluster: create, delete, kubeconfig.

Each reads the spec, picks its platform and returns a small result; progress lines go to stderr
so ``-o json`` output on stdout stays machine-readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import PlatformError
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.nodes import node_summary
from kfdeploy.options import Options
from kfdeploy.platforms import ClusterInfo, Progress, get_platform
from kfdeploy.workflow.session import load_spec, printer


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_text(name: str, summary: dict[str, int], kubeconfig: Path) -> str:
    """``cluster kubeflow ready: 4 nodes (1 GPU node, 4 GPUs), kubeconfig <path>``."""
    gpu = (f" ({plural(summary['gpuNodes'], 'GPU node')}, {plural(summary['gpus'], 'GPU')})"
           if summary.get("gpus") else "")
    not_ready = summary["nodes"] - summary.get("ready", summary["nodes"])
    waiting = f", {not_ready} not Ready yet" if not_ready else ""
    return (f"cluster {name} ready: {plural(summary['nodes'], 'node')}{gpu}{waiting}, "
            f"kubeconfig {kubeconfig}")


@dataclass(frozen=True)
class CreateResult:
    info: ClusterInfo
    summary: dict[str, int]

    def to_data(self) -> dict[str, Any]:
        return {"name": self.info.name, "created": self.info.created,
                "kubeconfig": str(self.info.kubeconfig), "context": self.info.context,
                **self.summary}

    def text(self) -> str:
        return summary_text(self.info.name, self.summary, self.info.kubeconfig)


@dataclass(frozen=True)
class DeleteResult:
    name: str
    platform: str
    existed: bool

    def to_data(self) -> dict[str, Any]:
        return {"name": self.name, "platform": self.platform, "deleted": self.existed}

    def text(self) -> str:
        if not self.existed:
            return f"cluster {self.name} does not exist; nothing to delete"
        return f"cluster {self.name} deleted"


@dataclass(frozen=True)
class KubeconfigResult:
    path: Path
    content: str = field(repr=False)

    def to_data(self) -> Any:
        return yaml.safe_load(self.content)

    def text(self) -> str:
        return self.content


def create(opts: Options, progress: Progress | None = None) -> CreateResult:
    """Create or reuse the spec's cluster and report its nodes."""
    spec = load_spec(opts.file)
    info = get_platform(spec.spec.platform.kind).ensure_cluster(spec, progress or printer(opts).line)
    api = Cluster.connect(info.kubeconfig, info.context)
    try:
        summary = node_summary(api)
    finally:
        api.close()
    return CreateResult(info=info, summary=summary)


def delete(opts: Options, progress: Progress | None = None) -> DeleteResult:
    """Delete the spec's cluster (a missing one is reported, not an error)."""
    spec = load_spec(opts.file)
    platform = get_platform(spec.spec.platform.kind)
    existed = bool(platform.describe(spec).get("exists", True))
    if existed:
        platform.delete_cluster(spec, progress or printer(opts).line)
    return DeleteResult(name=spec.metadata.name, platform=spec.spec.platform.kind,
                        existed=existed)


def kubeconfig(opts: Options) -> KubeconfigResult:
    """The kubeconfig of the spec's cluster, as text."""
    spec = load_spec(opts.file)
    path = get_platform(spec.spec.platform.kind).kubeconfig(spec)
    try:
        return KubeconfigResult(path=path, content=path.read_text())
    except OSError as e:
        raise PlatformError(f"cannot read the kubeconfig {path} of cluster "
                            f"{spec.metadata.name}: {e.strerror}",
                            hint="create the cluster first: `kfdeploy cluster create`") from e

