"""What the command line hands the workflow: ``Options`` shared by every verb, plus one frozen
value of flags per verb that has its own; and what every verb hands back (``Result``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

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


class Result(Protocol):
    """What every verb returns: data for ``-o json|yaml``, text for people."""

    def to_data(self) -> Any: ...

    def text(self) -> str: ...


@runtime_checkable
class StreamResult(Result, Protocol):
    """A result whose ``-o yaml`` is a stream of documents rather than one document."""

    def yaml_text(self) -> str: ...


@runtime_checkable
class HasExitCode(Result, Protocol):
    """A result that sets the exit code (plan's 2 for changes, 1 for a failure)."""

    @property
    def exit_code(self) -> int: ...


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
    revision_history_limit: int | None = None  # None: spec.revisionHistoryLimit


@dataclass(frozen=True)
class DeleteFlags:
    """``delete``: what to delete besides the unprotected objects kfdeploy owns."""

    delete_cluster: bool = False
    keep_pvcs: bool = True
    delete_crds: bool = False
    delete_namespaces: bool = False


@dataclass(frozen=True)
class HistoryFlags:
    """``history``: the list (default), or one revision's spec (its lock with ``lock``)."""

    revision: int | None = None
    lock: bool = False


@dataclass(frozen=True)
class RollbackFlags:
    """``rollback``: which revision (default: the last healthy one before the live one), and the
    apply flags a rollback shares with ``apply``."""

    to: int | None = None
    force_conflicts: bool = False
    recreate: bool = False
    timeout: int = 600
    skip_preflight: bool = False
    revision_history_limit: int | None = None

    def apply_flags(self) -> ApplyFlags:
        """A rollback never creates the cluster; prune keeps PVCs, CRDs with data and foreign namespaces."""
        return ApplyFlags(force_conflicts=self.force_conflicts, recreate=self.recreate, timeout=self.timeout,
                          skip_cluster=True, skip_preflight=self.skip_preflight,
                          revision_history_limit=self.revision_history_limit)
