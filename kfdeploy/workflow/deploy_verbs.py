"""Verbs against the cluster: plan, apply, status, delete.

Each loads the spec, renders it, reaches the cluster through its platform and hands the work to
``kfdeploy.kube.engine``; the results carry ``to_data()``, ``text()`` and ``exit_code``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kfdeploy.credentials import Credentials, store_key
from kfdeploy.errors import KfdeployError, UsageError
from kfdeploy.kube import credential_store, recreate
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.delete import delete_owned
from kfdeploy.kube.diff import render_diff
from kfdeploy.kube.engine import ApplyOptions, AppResult, Engine, SpecPlan
from kfdeploy.kube.health import application_health
from kfdeploy.kube.inventory import Inventory, stamp
from kfdeploy.kube.live import LiveIndex, kinds_to_list
from kfdeploy.kube.prune import PruneRules
from kfdeploy.kube.wait import assess_all, list_pods
from kfdeploy.library import Library
from kfdeploy.objects import describe_key
from kfdeploy.options import ApplyFlags, DeleteFlags, Options, PlanFlags
from kfdeploy.progress import Printer
from kfdeploy.render import Rendered
from kfdeploy.render.adjust import Adjustment, report_data, report_lines
from kfdeploy.render.published import RELEASE, sets_login
from kfdeploy.spec import KfDef
from kfdeploy.workflow import revision_verbs
from kfdeploy.workflow.render_verbs import report_tools
from kfdeploy.workflow.session import cluster_credentials, connect, load_spec, render_session
from kfdeploy.workflow.session import printer as printer_for

Confirm = Callable[[str, str], bool]
"""(question, what it is about) -> yes? The CLI asks on the terminal; library callers decide."""

_DEFAULT_APPLY = ApplyFlags()
_ALL_APPLICATIONS = PlanFlags()
_SYMBOL = {"create": "+", "update": "~", "recreate": "±", "delete": "-", "keep": "!", "unchanged": " "}


# -- shared steps ---------------------------------------------------------------------------------

def _desired(rendered: Rendered) -> list[tuple[str, list[dict[str, Any]], list[str]]]:
    return [(a.name, a.objects, a.depends_on) for a in rendered.applications]


def _engine(spec: KfDef, cluster: Cluster, printer: Printer, flags: ApplyFlags = _DEFAULT_APPLY) -> Engine:
    rules = PruneRules(prune_pvcs=flags.prune_pvcs, prune_crds=flags.prune_crds,
                       prune_namespaces=flags.prune_namespaces)
    options = ApplyOptions(force_conflicts=flags.force_conflicts, recreate=flags.recreate,
                           prune=not flags.no_prune, rules=rules, timeout=float(flags.timeout))
    return Engine(cluster, spec.metadata.name, spec.spec_hash(), options, printer.app)


# -- plan ---------------------------------------------------------------------------------------

@dataclass
class PlanResult:
    plan: SpecPlan
    verbose: int = 0
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 2 if self.plan.has_changes else 0

    def to_data(self) -> dict[str, Any]:
        return {"changes": self.plan.has_changes, "applications": [
            {"name": a.name, "summary": a.summary(),
             "changes": [c.to_data() for c in a.changes if c.action != "unchanged"]}
            for a in self.plan.all()], "adjustments": report_data(self.adjustments)}

    def text(self) -> str:
        lines = []
        for app in self.plan.all():
            lines.append(f"{app.name}: {app.summary()}")
            for c in app.changes:
                if (c.action == "unchanged" and self.verbose < 2) or (c.action == "create" and not self.verbose):
                    continue  # new objects are counted above; -v lists them
                lines.append(f"  {_SYMBOL[c.action]} {c.action:<6} {c.label}"
                             + (f"  ({c.reason})" if c.reason else ""))
                if c.diff:
                    lines.extend("      " + d for d in c.diff.rstrip("\n").splitlines())
        lines.extend(report_lines(self.adjustments, self.verbose))
        total = {a: sum(p.count(a) for p in self.plan.all())
                 for a in ("create", "update", "recreate", "delete", "keep")}
        lines.append("Plan: " + ", ".join(f"{n} to {a}" if a != "keep" else f"{n} kept"
                                          for a, n in total.items() if n or a != "recreate") + ".")
        if total["recreate"]:
            lines.append("(± recreate: immutable fields change; `apply --recreate` deletes and recreates them)")
        if total["create"] and not self.verbose:
            lines.append("(-v lists the objects to create, -vv also the unchanged ones)")
        if not self.plan.has_changes:
            lines.append("No changes: the cluster matches the spec.")
        return "\n".join(lines)


def plan(opts: Options, flags: PlanFlags = _ALL_APPLICATIONS) -> PlanResult:
    spec = load_spec(opts.file)
    printer = printer_for(opts)
    session = render_session(opts, spec, printer, only=flags.applications)
    session.prepare()  # render errors surface before the cluster is reached
    cluster = connect(opts, spec, printer, create=False)
    rendered = report_tools(session.render(cluster_credentials(cluster, spec)), opts.verbose, printer.line)
    if credential_store.reconciled_by_gitops(cluster, spec.metadata.name):  # compare with the export
        from kfdeploy.gitops.tree import as_exported
        rendered = as_exported(rendered, session.render_again(Credentials.offline(masked=True)))
    engine = _engine(spec, cluster, printer)
    spec_plan = engine.plan(_desired(rendered))
    if flags.applications:  # a partial plan never prunes other applications
        spec_plan.removed = []
    engine.dry_run_diffs(spec_plan, render_diff)
    return PlanResult(spec_plan, opts.verbose, rendered.adjustments)


# -- apply --------------------------------------------------------------------------------------

@dataclass
class ApplyResult:
    results: list[AppResult] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    plan: PlanResult | None = None
    retries: int = 0  # requests repeated after a transient fault (HTTP 429, a restart)
    adjustments: list[Adjustment] = field(default_factory=list)
    login: str = ""  # the command that prints the dashboard login (never the password)
    verbose: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if any(r.outcome in ("failed", "skipped") for r in self.results) else 0

    def to_data(self) -> dict[str, Any]:
        return {"applications": [r.to_data() for r in self.results], "requests": self.requests,
                "retries": self.retries, "seconds": round(self.seconds, 2), "ok": self.exit_code == 0,
                "adjustments": report_data(self.adjustments),
                **({"loginCommand": self.login} if self.login else {})}

    def text(self) -> str:
        lines = []
        for r in self.results:
            lines.append(f"{r.name:<24} {r.outcome:<10} +{r.created} ~{r.updated} -{r.deleted}"
                         + (f" ±{r.recreated}" if r.recreated else "")
                         + f"  {r.seconds:5.1f}s" + (f"  {r.error}" if r.error else ""))
            for obj, reason in r.kept:
                lines.append(f"    kept {obj}: {reason}")
            for u in r.unhealthy:
                lines.append(f"    unhealthy {u.object}: {u.reason}")
                lines.extend(f"      event: {e}" for e in u.events)
        lines.extend(report_lines(self.adjustments, self.verbose))
        ok = self.exit_code == 0
        lines.append(("Applied" if ok else "Apply FAILED") + f" in {self.seconds:.1f}s "
                     f"({self.requests} API requests"
                     + (f", {self.retries} repeated after a transient fault" if self.retries else "") + ")."
                     + ("" if ok else " Fix the objects named above and re-run apply: it resumes."))
        if self.login:
            lines.append(f"Dashboard login (user and generated password): {self.login}")
        return "\n".join(lines)


def apply(opts: Options, flags: ApplyFlags, confirm: Confirm,
          rollback: revision_verbs.RollbackTo | None = None) -> ApplyResult | PlanResult:
    """Plan, check, confirm (unless ``--yes`` or nothing changes), apply; ``--dry-run`` stops at the plan.
    A changing apply records a revision (``rollback``: a recorded spec instead of the file's)."""
    from kfdeploy.workflow import preflight_verbs as preflight
    start = time.monotonic()
    spec = rollback.spec if rollback else load_spec(opts.file)
    printer = printer_for(opts)
    session = render_session(opts, spec, printer)
    session.prepare()  # render errors surface before the cluster is touched
    create = not flags.skip_cluster and not opts.dry_run and not (opts.kubeconfig or opts.context)
    if create:
        preflight.before_cluster(spec, printer, flags.skip_preflight)
    cluster = connect(opts, spec, printer, create=not flags.skip_cluster and not opts.dry_run)
    credentials = cluster_credentials(cluster, spec)
    rendered = report_tools(session.render(credentials), opts.verbose, printer.line)
    engine = _engine(spec, cluster, printer, flags)
    spec_plan = engine.plan(_desired(rendered))
    engine.dry_run_diffs(spec_plan, render_diff)  # also the server's word on immutable fields
    if opts.dry_run:
        return PlanResult(spec_plan, opts.verbose, rendered.adjustments)
    recreate.gate((c for p in spec_plan.apps for c in p.changes), engine.options.recreate)
    if spec_plan.has_changes:
        preflight.before_changes(spec, rendered, cluster, printer, flags.skip_preflight, flags.force_conflicts,
                                 session.library)
    if spec_plan.has_changes and not opts.yes:
        if not confirm("Apply these changes?", PlanResult(spec_plan, opts.verbose, rendered.adjustments).text()):
            raise KfdeployError("apply cancelled; nothing was changed")
        printer.start = time.monotonic()  # time the apply, not the prompt
    for line in credentials.adopted:
        printer.line(f"kept {line}: its data was initialised with it (an install made before"
                     " generated credentials); to rotate it, change it in the database, then in spec.secrets")
    for line in replaced_lines(rendered, credentials, opts.file):
        printer.line(line)
    with revision_verbs.recorded(cluster, spec, spec_plan, flags, printer, session.repos.lock,
                                 rollback) as revision:
        if credentials.changed():  # stored before anything that reads them is applied
            credential_store.write(cluster, spec.metadata.name, credentials.merged())
        results = engine.apply(spec_plan)
        revision.finish(results)
    login = f"kfdeploy credentials -f {opts.file}" if _has_login(rendered, session.library) else ""
    return ApplyResult(results, cluster.requests, time.monotonic() - start,
                       adjustments=rendered.adjustments, login=login, retries=cluster.retries,
                       verbose=opts.verbose)


def _has_login(rendered: Rendered, library: Library) -> bool:
    components = library.components
    return any(components[a.name].login for a in rendered.applications if a.name in components) \
        or sets_login(rendered.replaced)


def replaced_lines(rendered: Rendered, credentials: Credentials, file: str) -> list[str]:
    """One line per Secret whose published values this apply replaces with new generated ones
    (said once: later applies keep them)."""
    kept = {*(credentials.stored or {}), *adopted(credentials)}
    by_secret: dict[tuple[str, str], list[str]] = {}
    for r in rendered.replaced:
        if store_key(RELEASE, r.param) not in kept:
            by_secret.setdefault((r.application, r.secret), []).append(r.key)
    tail = f"; kfdeploy credentials -f {file} prints the login" if sets_login(rendered.replaced) else ""
    return [f"generated {', '.join(keys)} of Secret {secret} (application {app}) in place of the value"
            f" its release publishes{tail}" for (app, secret), keys in by_secret.items()]


def adopted(credentials: Credentials) -> set[str]:
    """The store keys whose value was adopted from a live Secret."""
    return {line.split(" ", 1)[0] for line in credentials.adopted}


# -- status ---------------------------------------------------------------------------------------

@dataclass
class StatusResult:
    components: list[dict[str, Any]]
    revision: dict[str, Any] | None = None  # the live revision (kfdeploy.workflow.revision_verbs.live)

    @property
    def exit_code(self) -> int:
        return 0 if all(c["health"] == "Healthy" for c in self.components) else 1

    def to_data(self) -> dict[str, Any]:
        return {"components": self.components, "revision": self.revision}

    def text(self) -> str:
        lines = [revision_verbs.live_text(self.revision), f"{'APPLICATION':<24} {'HEALTH':<12} READY"]
        for c in self.components:
            lines.append(f"{c['name']:<24} {c['health']:<12} {c['ready']}/{c['objects']}")
            lines.extend(f"    {u['object']}: {u['reason']}" for u in c["unhealthy"][:10])
        return "\n".join(lines)


def status(opts: Options) -> StatusResult:
    spec = load_spec(opts.file)
    rendered = render_session(opts, spec).render()
    cluster = connect(opts, spec, printer_for(opts), create=False)
    inventory = Inventory(cluster, spec.metadata.name)
    apps = [(a.name, [stamp(o, inventory.id) for o in a.objects]) for a in rendered.applications]
    index = LiveIndex.fetch(cluster, inventory.id,
                            kinds_to_list([o for _, objs in apps for o in objs], inventory.records().values()))
    pods = list_pods(cluster, [o for _, objs in apps for o in objs])
    return StatusResult([_component_status(name, objs, index, pods) for name, objs in apps],
                        revision_verbs.live(cluster, spec))


def _component_status(name: str, objs: list[dict[str, Any]], index: LiveIndex,
                      pods: list[dict[str, Any]]) -> dict[str, Any]:
    health = assess_all(objs, index.by_key, pods)
    statuses = [h.status for h in health.values()]
    return {"name": name, "health": application_health(statuses), "objects": len(objs),
            "ready": statuses.count("Current"),
            "unhealthy": [{"object": describe_key(k), "status": h.status, "reason": h.message}
                          for k, h in health.items() if h.status != "Current"]}


# -- delete ---------------------------------------------------------------------------------------

@dataclass
class DeleteResult:
    deleted: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)
    cluster_deleted: bool = False
    seconds: float = 0.0

    def to_data(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "kept": [{"object": o, "reason": r} for o, r in self.kept],
                "clusterDeleted": self.cluster_deleted, "seconds": round(self.seconds, 2)}

    def text(self) -> str:
        lines = [f"Deleted {self.deleted} object(s) in {self.seconds:.1f}s."]
        lines += [f"  kept {o}: {r}" for o, r in self.kept]
        if self.cluster_deleted:
            lines.append("Deleted the cluster.")
        return "\n".join(lines)


def delete(opts: Options, flags: DeleteFlags, confirm: Confirm) -> DeleteResult:
    """Remove what kfdeploy owns (see ``kfdeploy.kube.delete``); with ``--cluster``, the cluster."""
    start = time.monotonic()
    spec = load_spec(opts.file)
    printer = printer_for(opts)
    if flags.delete_cluster and spec.spec.platform.kind == "existing":  # refuse before deleting anything
        raise UsageError("--cluster: platform existing is someone else's cluster; kfdeploy never deletes it",
                         hint="drop --cluster to remove only what kfdeploy installed")
    what = "everything kfdeploy installed" + (" and the cluster" if flags.delete_cluster else "")
    if not opts.yes and not confirm(f"Delete {what} for {spec.metadata.name}?", ""):
        raise KfdeployError("delete cancelled; nothing was changed")
    result = DeleteResult()
    try:
        cluster: Cluster | None = connect(opts, spec, printer, create=False)
    except KfdeployError:
        if not flags.delete_cluster:
            raise
        cluster = None  # the cluster goes anyway
    if cluster is not None:
        rules = PruneRules(prune_pvcs=not flags.keep_pvcs, prune_crds=flags.delete_crds,
                           prune_namespaces=flags.delete_namespaces, verb="delete")
        done = delete_owned(cluster, spec.metadata.name, spec.spec_hash(), _rendered_for_delete(opts, spec),
                            rules, printer.app, printer.line)
        result.deleted, result.kept = done.deleted, done.kept
    if flags.delete_cluster:
        from kfdeploy.platforms import get_platform
        printer.line("deleting the cluster")
        get_platform(spec.spec.platform.kind).delete_cluster(spec, printer.line)
        result.cluster_deleted = True
    result.seconds = time.monotonic() - start
    return result


def _rendered_for_delete(opts: Options, spec: KfDef) -> list[tuple[str, list[dict[str, Any]]]]:
    """The applications in apply order, for the reverse delete order. A spec that no longer
    renders must not stop a delete: the cluster's labels still say what is ours."""
    try:
        return [(a.name, a.objects) for a in render_session(opts, spec).render().applications]
    except KfdeployError:
        return []
