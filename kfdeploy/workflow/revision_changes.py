"""What changed between two recorded specs, and which changes cross a database migration.

Both read spec documents as a revision records them (YAML names, only what the user wrote), so
``history`` can say what each revision changed and ``rollback`` can warn before going back
across a release whose components migrate their databases.
"""

from __future__ import annotations

from typing import Any

MIGRATING = (
    ("Kubeflow Pipelines", ("pipeline",)),
    ("Katib", ("katib",)),
    ("Model Registry", ("model-registry", "modelregistry", "model_registry")),
)
"""Components that migrate their database schema on upgrade, by the words that name them in an
application's name or source path. Going back across such an upgrade leaves the newer schema."""

VERSION_PARAM_WORDS = ("image", "tag", "version")
"""A library application's params that pick its release (the rest tune it)."""


def _apps(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in (doc.get("spec") or {}).get("applications") or []
            if a.get("enabled", True)}


def _repos(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in (doc.get("spec") or {}).get("repos") or []}


def _repo_text(repo: dict[str, Any] | None) -> str:
    if repo is None:
        return "(none)"
    return str(repo.get("uri", "")) + (f" (sha256 {repo['sha256'][:12]})" if repo.get("sha256") else "")


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """One line per change from ``old`` to ``new``: applications added or removed, the library
    version, repo uris or versions, each application's source and params."""
    if old is None:
        return [f"installed {len(_apps(new))} application(s)" if _apps(new) else "installed the defaults"]
    lines = []
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    if old_spec.get("version") != new_spec.get("version"):
        lines.append(f"version {old_spec.get('version', '(default)')} -> {new_spec.get('version', '(default)')}")
    old_repos, new_repos = _repos(old), _repos(new)
    for name in sorted(set(old_repos) | set(new_repos)):
        if old_repos.get(name) != new_repos.get(name):
            lines.append(f"repo {name}: {_repo_text(old_repos.get(name))} -> {_repo_text(new_repos.get(name))}")
    params = _changed_keys(old_spec.get("params") or {}, new_spec.get("params") or {})
    if params:
        lines.append(f"params changed for: {', '.join(params)}")
    if old_spec.get("overlays") != new_spec.get("overlays"):
        lines.append(f"overlays {old_spec.get('overlays', [])} -> {new_spec.get('overlays', [])}")
    old_apps, new_apps = _apps(old), _apps(new)
    lines += [f"+ {n}" for n in new_apps if n not in old_apps]
    lines += [f"- {n}" for n in old_apps if n not in new_apps]
    for name in (n for n in new_apps if n in old_apps):
        lines += [f"{name}: {what}" for what in _app_changes(old_apps[name], new_apps[name])]
    return lines


def _app_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    for source in ("kustomize", "helm", "jsonnet"):
        if old.get(source) != new.get(source):
            out.append(f"{source} {_short(old.get(source))} -> {_short(new.get(source))}")
    params = _changed_keys(old.get("params") or {}, new.get("params") or {})
    if params:
        out.append(f"params changed: {', '.join(params)}")
    other = [k for k in _changed_keys(old, new) if k not in ("kustomize", "helm", "jsonnet", "params", "name")]
    if other:
        out.append(f"changed: {', '.join(other)}")
    return out


def _short(value: Any) -> str:
    if not isinstance(value, dict):
        return "(none)" if value is None else str(value)
    return ", ".join(f"{k}={v}" for k, v in value.items() if k not in ("values",))


# -- migrations -------------------------------------------------------------------------------------

def migrating_component(app: dict[str, Any]) -> str | None:
    """The migrating component an application is, by its name or source path; else None."""
    source = app.get("kustomize") or app.get("helm") or app.get("jsonnet") or {}
    words = " ".join([app["name"], str(source.get("path", "")), str(source.get("chart", ""))]).lower()
    return next((label for label, keys in MIGRATING if any(k in words for k in keys)), None)


def _release(doc: dict[str, Any], app: dict[str, Any]) -> Any:
    """What picks the release an application runs: its source, the repo it reads, or (for the
    built-in library) the library version and the params that choose images."""
    if app.get("kustomize"):
        return (app["kustomize"], _repos(doc).get(app["kustomize"].get("repo") or ""))
    if app.get("helm"):
        helm = app["helm"]
        return (helm.get("chart"), helm.get("repo"), helm.get("version"))
    if app.get("jsonnet"):
        return app["jsonnet"]
    params = {k: v for k, v in (app.get("params") or {}).items()
              if any(w in k.lower() for w in VERSION_PARAM_WORDS)}
    return ((doc.get("spec") or {}).get("version"), params)


def migrations_crossed(live: dict[str, Any], target: dict[str, Any]) -> list[str]:
    """Applications of migrating components whose release differs between the live revision's
    spec and the target's: '<application> (<component>)'."""
    live_apps, target_apps = _apps(live), _apps(target)
    out = []
    for name, app in target_apps.items():
        label = migrating_component(app)
        if label and name in live_apps and _release(live, live_apps[name]) != _release(target, app):
            out.append(f"{name} ({label})")
    return out
