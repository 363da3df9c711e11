"""``kfdeploy preflight``, and the same checks as ``apply`` runs them before its first change.

``apply`` runs the cloud checks before it creates or changes a cluster and the cluster checks
once the cluster answers and the plan has changes (a no-op re-apply stays a no-op); a FAIL stops
it with nothing changed, unless ``--skip-preflight``, which it says.
"""

from __future__ import annotations

from kfdeploy.errors import KfdeployError
from kfdeploy.findings import Finding, fail, warn
from kfdeploy.kube.client import Cluster
from kfdeploy.library import Library
from kfdeploy.options import Options
from kfdeploy.platforms import get_platform
from kfdeploy.preflight import PreflightError, Report, cluster_findings
from kfdeploy.progress import Printer
from kfdeploy.render import Rendered
from kfdeploy.spec import KfDef
from kfdeploy.workflow.session import connect, load_spec, printer, render_session

CREATED_BY_APPLY = frozenset({"gke", "eks", "kind", "minikube", "kwok"})


def preflight(opts: Options, force_conflicts: bool = False) -> Report:
    """Every check, without changing anything; exit code 1 when one FAILs."""
    spec = load_spec(opts.file)
    session = render_session(opts, spec)
    rendered = session.render()
    result = Report(cloud_findings(spec))
    try:
        cluster = connect(opts, spec, printer(opts), create=False)
    except KfdeployError as e:
        result.findings.append(_unreachable(spec, opts, e))
        return result
    result.findings += cluster_findings(spec, rendered, cluster, force_conflicts=force_conflicts,
                                        library=session.library)
    return result


def cloud_findings(spec: KfDef) -> list[Finding]:
    """The platform's own checks of what it would create (gke, eks); none for other platforms."""
    try:
        return get_platform(spec.spec.platform.kind).preflight(spec)
    except KfdeployError as e:
        return [fail("cloud", spec.spec.platform.kind, f"cannot check the offerings: {e.message}",
                     e.hint or "check the cloud credentials, or pass --skip-preflight")]


def _unreachable(spec: KfDef, opts: Options, e: KfdeployError) -> Finding:
    kind = spec.spec.platform.kind
    if kind in CREATED_BY_APPLY and not (opts.kubeconfig or opts.context):
        return warn("cluster", f"{kind} cluster {spec.metadata.name}", f"not reachable ({e.message})",
                    "apply creates it, then runs the cluster checks; `kfdeploy cluster create` first to check now")
    return fail("cluster", "cluster", f"unreachable: {e.message}", e.hint or "check --kubeconfig and --context")


# -- as apply runs them ---------------------------------------------------------------------

def _stop_on_failure(report: Report, printer: Printer) -> None:
    for f in report.findings:
        if f.status != "OK":
            printer.line(f.line())
    if report.failed:
        raise PreflightError(report)


def before_cluster(spec: KfDef, printer: Printer, skip: bool) -> None:
    """The cloud checks, before apply creates or changes the cluster."""
    if skip:
        return
    _stop_on_failure(Report(cloud_findings(spec)), printer)


def before_changes(spec: KfDef, rendered: Rendered, cluster: Cluster, printer: Printer, skip: bool,
                   force_conflicts: bool, library: Library | None = None) -> None:
    """The cluster checks, before apply changes the first object."""
    if skip:
        printer.line("preflight skipped (--skip-preflight): the cluster was not checked before applying")
        return
    printer.line("preflight: checking the cluster")
    report = Report(cluster_findings(spec, rendered, cluster, force_conflicts=force_conflicts, library=library))
    _stop_on_failure(report, printer)
    c = report.counts()
    printer.line(f"preflight: {c['OK']} ok, {c['WARN']} warning(s)")
