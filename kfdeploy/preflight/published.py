"""Preflight's ``credentials`` check: rendered Secrets that still hold a value their downloaded
source publishes (the rule: ``render.published``).

kfdeploy replaces the official releases' published credentials with generated ones; what is
left is reported: a value the user's own overlay brings from another download, a database
password adopted from an earlier install, a Secret of a release or remote base kfdeploy does
not know. Keys that name something and are not secret (a user or client name) are not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfdeploy.errors import KfdeployError
from kfdeploy.findings import Finding, ok, warn
from kfdeploy.kinds import SECRET, group_kind
from kfdeploy.objects import describe
from kfdeploy.render.published import adopted_keys, downloaded_texts, identifier_keys, published_keys
from kfdeploy.render.repos import RepoResolver

if TYPE_CHECKING:
    from kfdeploy.render import Rendered
    from kfdeploy.spec import KfDef

CHECK = "credentials"


def findings(spec: KfDef, rendered: Rendered, repos: RepoResolver | None = None) -> list[Finding]:
    """A WARN per rendered Secret holding a value its downloaded source publishes; an OK when none does."""
    apps = {a.name: a for a in spec.spec.applications}
    repos = repos or RepoResolver.for_spec(spec)
    out: list[Finding] = []
    secrets = 0
    for app in rendered.applications:
        source = apps[app.name].kustomize if app.name in apps else None
        objs = [o for o in app.objects if group_kind(o) == SECRET]
        if source is None or not objs:
            continue
        try:
            texts = downloaded_texts(app.name, source, spec, repos)
        except KfdeployError as e:
            out.append(warn(CHECK, f"application {app.name}", f"cannot read its source to compare: {e.message}",
                            "render it once with network access (`kfdeploy build`), then check again"))
            continue
        secrets += len(objs)
        for obj in objs:
            named = {f"{field}.{k}" for k in identifier_keys(obj) for field in ("data", "stringData")}
            adopted = {f"{field}.{k}" for k in adopted_keys(obj) for field in ("data", "stringData")}
            for url, keys in published_keys(obj, texts):
                keys = [k for k in keys if k not in named]
                out += [_finding(app.name, obj, url, keys, bool(adopted & set(keys)))] if keys else []
    return out or [ok(CHECK, "Secrets", f"{secrets} rendered from downloaded sources; none holds a"
                      " credential written in its source")]


def _finding(app: str, obj: dict[str, Any], url: str, keys: list[str], adopted: bool) -> Finding:
    fix = (f"set them from spec.secrets with a postRender of application {app} (its params take"
           " {secretRef: NAME}); a value changed by hand in the cluster is put back by the next apply")
    if adopted:  # kept from an earlier install: its database holds it
        fix = ("the database was initialised with it, so apply keeps it: change the password in the"
               " database, then " + fix)
    return warn(CHECK, describe(obj), f"{', '.join(keys)}: the value(s) {url} publishes (application {app});"
                " everyone who downloads it knows them", fix)
