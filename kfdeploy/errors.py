"""The error tree. Every user-facing failure is a KfdeployError whose message names the thing
(file, field path, component, object, cloud resource) and says what to do; the CLI prints it
without a traceback and exits with ``exit_code``."""

from __future__ import annotations

EXIT_ERROR = 1
"""Something failed: the cluster, a platform, an application that did not become healthy."""
EXIT_CHANGES = 2
"""``plan``/``diff`` only: the cluster differs from the spec. Nothing else exits 2."""
EXIT_BAD_INPUT = 3
"""The input is wrong (spec, flags, a component that does not render): fix it and re-run."""


class KfdeployError(Exception):
    """Base of all errors a user can act on."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(KfdeployError):
    """Bad command-line input."""

    exit_code = EXIT_BAD_INPUT


class SpecError(KfdeployError):
    """The KfDef spec is invalid. ``problems`` lists every problem found, not only the first."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, source: str, problems: list[str], *, hint: str | None = None) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {len(problems)} problem(s) in the spec:"] if len(problems) > 1 else []
        body = [f"{source}: {problems[0]}"] if len(problems) == 1 else [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines + body), hint=hint)


class RenderError(KfdeployError):
    """A component failed to render (jsonnet error, unknown param, bad object)."""

    exit_code = EXIT_BAD_INPUT


class FetchError(RenderError):
    """A source could not be downloaded (offline, unreachable, refused, over a limit)."""


class PlatformError(KfdeployError):
    """Creating, reaching or deleting a cluster failed."""


class ToolMissingError(PlatformError):
    """A binary kfdeploy needs (kwokctl, kube-apiserver, helm, ...) is not available."""


class ApplyError(KfdeployError):
    """Applying objects to the cluster failed."""


class PruneError(KfdeployError):
    """Pruning or deleting owned objects failed."""

