"""Verbs against the cluster: plan, apply, status, delete.

Each loads the spec, renders it, reaches the cluster through its platform and hands the work to
``kfdeploy.kube.engine``; the results carry ``to_data()``, ``text()`` and ``exit_code``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import click

from kfdeploy.errors import KfdeployError, UsageError
from kfdeploy.kube import recreate
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.diff import render_diff
from kfdeploy.kube.engine import ApplyOptions, AppResult, Engine, SpecPlan
from kfdeploy.kube.inventory import Inventory, Record, stamp
from kfdeploy.kube.live import LiveIndex, kinds_to_list
from kfdeploy.kube.order import WEBHOOK_KINDS, delete_order, describe_key, object_key
from kfdeploy.kube.prune import PruneRules, protection
from kfdeploy.kube.wait import Backoff, assess_all, list_pods
from kfdeploy.options import Options
from kfdeploy.progress import Printer
from kfdeploy.render import Rendered, render
from kfdeploy.render.adjust import Adjustment, report_data, report_lines
from kfdeploy.spec import KfDef, load_spec

_SYMBOL = {"create": "+", "update": "~", "recreate": "±", "delete": "-", "keep": "!", "unchanged": " "}


# -- shared steps ---------------------------------------------------------------------------------

def _printer(opts: Options) -> Printer:
    return Printer(live=None if opts.output == "text" else False)


def _connect(opts: Options, spec: KfDef, printer: Printer, create: bool) -> Cluster:
    """The cluster: flags win; else the platform's (created first when ``create``)."""
    if opts.kubeconfig or opts.context:
        cluster = Cluster.connect(opts.kubeconfig, opts.context)
    else:
        from kfdeploy.platforms import get_platform
        platform = get_platform(spec.spec.platform.kind)
        context = getattr(spec.spec.platform.settings, "context", None)
        if create:
            info = platform.ensure_cluster(spec, printer.line)
            cluster = Cluster.connect(info.kubeconfig, info.context or context)
        else:
            cluster = Cluster.connect(platform.kubeconfig(spec), context)
    cluster.version()
    return cluster


def _desired(rendered: Rendered) -> list[tuple[str, list[dict[str, Any]], list[str]]]:
    return [(a.name, a.objects, a.depends_on) for a in rendered.applications]


def _engine(opts: Options, spec: KfDef, cluster: Cluster, printer: Printer, **kw: Any) -> Engine:
    rules = PruneRules(prune_pvcs=kw.get("prune_pvcs", False), prune_crds=kw.get("prune_crds", False))
    options = ApplyOptions(force_conflicts=kw.get("force_conflicts", False),
                           recreate=kw.get("recreate", False),
                           prune=not kw.get("no_prune", False), rules=rules,
                           timeout=float(kw.get("timeout", 600)))
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
        lines.extend(report_lines(self.adjustments))
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


def _plan(opts: Options, spec: KfDef, cluster: Cluster, printer: Printer, only: tuple[str, ...],
          **kw: Any) -> tuple[Engine, SpecPlan, Rendered]:
    engine = _engine(opts, spec, cluster, printer, **kw)
    rendered = render(spec, only=only)
    spec_plan = engine.plan(_desired(rendered))
    if only:  # a partial plan never prunes other applications
        spec_plan.removed = []
    return engine, spec_plan, rendered


def plan(opts: Options, applications: tuple[str, ...] = (), **kw: Any) -> PlanResult:
    spec = load_spec(opts.file)
    printer = _printer(opts)
    cluster = _connect(opts, spec, printer, create=False)
    engine, spec_plan, rendered = _plan(opts, spec, cluster, printer, applications, **kw)
    engine.dry_run_diffs(spec_plan, render_diff)
    return PlanResult(spec_plan, opts.verbose, rendered.adjustments)


# -- apply --------------------------------------------------------------------------------------

@dataclass
class ApplyResult:
    results: list[AppResult] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    plan: PlanResult | None = None
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if any(r.outcome in ("failed", "skipped") for r in self.results) else 0

    def to_data(self) -> dict[str, Any]:
        return {"applications": [r.to_data() for r in self.results], "requests": self.requests,
                "seconds": round(self.seconds, 2), "ok": self.exit_code == 0,
                "adjustments": report_data(self.adjustments)}

    def text(self) -> str:
        lines = []
        for r in self.results:
            lines.append(f"{r.name:<24} {r.outcome:<10} +{r.created} ~{r.updated} -{r.deleted}"
                         f"  {r.seconds:5.1f}s" + (f"  {r.error}" if r.error else ""))
            for obj, reason in r.kept:
                lines.append(f"    kept {obj}: {reason}")
            for obj, reason in r.unhealthy:
                lines.append(f"    unhealthy {obj}: {reason}")
                lines.extend(f"      event: {e}" for e in r.events.get(obj, []))
        lines.extend(report_lines(self.adjustments))
        ok = self.exit_code == 0
        lines.append(("Applied" if ok else "Apply FAILED") + f" in {self.seconds:.1f}s "
                     f"({self.requests} API requests)."
                     + ("" if ok else " Fix the objects named above and re-run apply: it resumes."))
        return "\n".join(lines)


def apply(opts: Options, skip_cluster: bool = False, skip_preflight: bool = False, **kw: Any) -> Any:
    from kfdeploy.workflow import preflight_verbs as preflight
    start = time.monotonic()
    dry_run = opts.dry_run
    spec = load_spec(opts.file)
    printer = _printer(opts)
    rendered = render(spec)  # render errors surface before the cluster is touched
    create = not skip_cluster and not dry_run and not (opts.kubeconfig or opts.context)
    if create:
        preflight.before_cluster(spec, printer, skip_preflight)
    cluster = _connect(opts, spec, printer, create=not skip_cluster and not dry_run)
    engine = _engine(opts, spec, cluster, printer, **kw)
    spec_plan = engine.plan(_desired(rendered))
    engine.dry_run_diffs(spec_plan, render_diff)  # also the server's word on immutable fields
    if dry_run:
        return PlanResult(spec_plan, opts.verbose, rendered.adjustments)
    recreate.gate((c for p in spec_plan.apps for c in p.changes), engine.options.recreate)
    if spec_plan.has_changes:
        preflight.before_changes(spec, rendered, cluster, printer, skip_preflight, kw.get("force_conflicts", False))
    if spec_plan.has_changes and not opts.yes:
        _confirm(PlanResult(spec_plan, opts.verbose, rendered.adjustments))
        printer.start = time.monotonic()  # time the apply, not the prompt
    results = engine.apply(spec_plan)
    return ApplyResult(results, cluster.requests, time.monotonic() - start,
                       adjustments=rendered.adjustments)


def _confirm(plan_result: PlanResult) -> None:
    click.echo(plan_result.text(), err=True)
    if not sys.stdin.isatty():
        raise UsageError("apply needs confirmation: pass --yes (-y) to apply without a prompt")
    if not click.confirm("Apply these changes?", default=False, err=True):
        raise KfdeployError("apply cancelled; nothing was changed")


# -- status ---------------------------------------------------------------------------------------

@dataclass
class StatusResult:
    components: list[dict[str, Any]]

    @property
    def exit_code(self) -> int:
        return 0 if all(c["health"] == "Healthy" for c in self.components) else 1

    def to_data(self) -> dict[str, Any]:
        return {"components": self.components}

    def text(self) -> str:
        lines = [f"{'APPLICATION':<24} {'HEALTH':<12} READY"]
        for c in self.components:
            lines.append(f"{c['name']:<24} {c['health']:<12} {c['ready']}/{c['objects']}")
            lines.extend(f"    {u['object']}: {u['reason']}" for u in c["unhealthy"][:10])
        return "\n".join(lines)


def status(opts: Options) -> StatusResult:
    spec = load_spec(opts.file)
    rendered = render(spec)
    cluster = _connect(opts, spec, _printer(opts), create=False)
    inventory = Inventory(cluster, spec.metadata.name)
    apps = [(a.name, [stamp(o, inventory.id) for o in a.objects]) for a in rendered.applications]
    index = LiveIndex.fetch(cluster, inventory.id,
                            kinds_to_list([o for _, objs in apps for o in objs], inventory.records().values()))
    pods = list_pods(cluster, [o for _, objs in apps for o in objs])
    return StatusResult([_component_status(name, objs, index, pods) for name, objs in apps])


def _component_status(name: str, objs: list[dict[str, Any]], index: LiveIndex,
                      pods: list[dict[str, Any]]) -> dict[str, Any]:
    health = assess_all(objs, index.by_key, pods)
    statuses = [h.status for h in health.values()]
    missing = statuses.count("NotFound")
    if missing == len(statuses):
        verdict = "Missing"
    elif "Failed" in statuses or missing:
        verdict = "Degraded"
    elif any(s != "Current" for s in statuses):
        verdict = "Progressing"
    else:
        verdict = "Healthy"
    return {"name": name, "health": verdict, "objects": len(objs),
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


def delete(opts: Options, delete_cluster: bool = False, keep_pvcs: bool = True,
           delete_crds: bool = False, **kw: Any) -> DeleteResult:
    start = time.monotonic()
    spec = load_spec(opts.file)
    printer = _printer(opts)
    if delete_cluster and spec.spec.platform.kind == "existing":  # refuse before deleting anything
        raise UsageError("--cluster: platform existing is someone else's cluster; kfdeploy never deletes it",
                         hint="drop --cluster to remove only what kfdeploy installed")
    if not opts.yes:
        what = "everything kfdeploy installed" + (" and the cluster" if delete_cluster else "")
        if not sys.stdin.isatty():
            raise UsageError(f"delete removes {what}: pass --yes (-y) to confirm")
        if not click.confirm(f"Delete {what} for {spec.metadata.name}?", default=False, err=True):
            raise KfdeployError("delete cancelled; nothing was changed")
    result = DeleteResult()
    try:
        cluster = _connect(opts, spec, printer, create=False)
    except KfdeployError:
        if not delete_cluster:
            raise
        cluster = None
    if cluster is not None:
        rules = PruneRules(prune_pvcs=not keep_pvcs, prune_crds=delete_crds, verb="delete")
        _delete_owned(cluster, spec, rules, printer, result)
    if delete_cluster:
        from kfdeploy.platforms import get_platform
        printer.line("deleting the cluster")
        get_platform(spec.spec.platform.kind).delete_cluster(spec, printer.line)
        result.cluster_deleted = True
    result.seconds = time.monotonic() - start
    return result


def _delete_owned(cluster: Cluster, spec: KfDef, rules: PruneRules, printer: Printer,
                  result: DeleteResult) -> None:
    inventory = Inventory(cluster, spec.metadata.name)
    records = inventory.records()
    try:
        apps_rendered = render(spec).applications
    except KfdeployError:
        apps_rendered = []
    order = [a.name for a in apps_rendered]
    desired = [o for a in apps_rendered for o in a.objects]
    index = LiveIndex.fetch(cluster, inventory.id, kinds_to_list(desired, records.values()))
    by_app = index.applications()
    apps = [a for a in reversed(order) if a in by_app] + sorted(set(by_app) - set(order))
    # Admission webhooks and APIServices go first so nothing blocks the rest.
    first = [o for o in index.by_key.values() if o.get("kind") in WEBHOOK_KINDS | {"APIService"}]
    first_keys = {object_key(o) for o in first}
    kept: dict[str, str] = {}
    kept_in: dict[str, list[str]] = {}  # namespace -> kept objects in it
    for app in ["(admission)"] + apps:
        objs = first if app == "(admission)" else [o for o in by_app[app] if object_key(o) not in first_keys]
        printer.app(app, "deleting", f"{len(objs)} object(s)")
        for obj in delete_order(objs):
            label = describe_key(object_key(obj))
            held = kept_in.get(obj["metadata"]["name"]) if obj["kind"] == "Namespace" else None
            reason = (f"holds kept objects: {', '.join(held)}" if held
                      else protection(cluster, obj, inventory.id, rules))
            if reason:
                kept[label] = reason
                kept_in.setdefault(obj["metadata"].get("namespace", ""), []).append(label)
                continue
            result.deleted += cluster.delete(obj)
        printer.app(app, "pruned", f"{len(objs)} object(s)")
    result.kept = sorted(kept.items())
    _wait_namespaces_gone(cluster, [o for o in index.by_key.values() if o["kind"] == "Namespace"
                                    and describe_key(object_key(o)) not in kept], printer)
    for app, record in records.items():  # keep a record only of what was kept
        left = [k for k in record.objects if describe_key(k) in kept]
        if left:
            inventory.write(Record(app, left, spec_hash=spec.spec_hash(), state="removed",
                                   api_versions=record.api_versions))
        else:
            inventory.forget(app)
    if not kept:
        inventory.forget_all()


def _wait_namespaces_gone(cluster: Cluster, namespaces: list[dict[str, Any]], printer: Printer,
                          timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    pending = [n["metadata"]["name"] for n in namespaces]
    backoff = Backoff(0.5, 3.0)
    while pending:
        printer.line(f"waiting for namespace(s) to go: {', '.join(pending)}")
        pending = [n for n in pending if cluster.get(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}) is not None]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise KfdeployError(f"namespace(s) still terminating after {timeout:.0f}s: {', '.join(pending)}",
                                hint="kubectl get ns NAME -o yaml shows the conditions that block it "
                                     "(often finalizers of custom resources)")
        backoff.sleep()
