"""What the command line hands the workflow: ``Options`` shared by every verb, plus one frozen
value of flags per verb that has its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Output = Literal["text", "json", "yaml"]


@dataclass(frozen=True)
class Options:
    file: str = "kfdef.yaml"
    kubeconfig: str | None = None
    context: str | None = None
    output: Output = "text"
    verbose: int = 0
    yes: bool = False
    dry_run: bool = False
    no_cache: bool = False  # render every source again; the render cache is neither read nor written


@dataclass(frozen=True)
class PlanFlags:
    """``plan`` / ``diff``: only these applications (all when empty); a partial plan never prunes."""

    applications: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyFlags:
    """``apply``: how to treat conflicts and immutable changes, and what prune may delete."""

    force_conflicts: bool = False
    recreate: bool = False
    no_prune: bool = False
    prune_pvcs: bool = False
    prune_crds: bool = False
    prune_namespaces: bool = False
    timeout: int = 600
    skip_cluster: bool = False
    skip_preflight: bool = False


@dataclass(frozen=True)
class DeleteFlags:
    """``delete``: what to delete besides the unprotected objects kfdeploy owns."""

    delete_cluster: bool = False
    keep_pvcs: bool = True
    delete_crds: bool = False
    delete_namespaces: bool = False
