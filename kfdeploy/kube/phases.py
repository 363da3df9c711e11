"""Apply phases inside one application, for sources with an order of their own (helm hooks).

An object annotated ``kfdeploy.io/apply-phase: pre:<weight>`` or ``post:<weight>`` is applied,
by weight, before or after the application's other objects, and each such group is waited
healthy before the next (a pre-install Job completes before the Deployment it prepares for).
When there are ``pre`` objects, the application's Namespaces and CRDs come first of all (helm
installs a chart's ``crds/`` before its hooks). Without annotations there is one phase: the
usual waves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kfdeploy.kinds import rule_of
from kfdeploy.labels import PHASE, REPLACE_ON_CHANGE


@dataclass(frozen=True)
class Phase:
    name: str
    objects: list[dict[str, Any]]
    wait: bool  # wait healthy before the next phase


def _annotation(obj: Mapping[str, Any], key: str) -> str:
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(key, ""))


def replaces_on_change(obj: Mapping[str, Any] | None) -> bool:
    return obj is not None and _annotation(obj, REPLACE_ON_CHANGE) == "true"


def _phase_of(obj: Mapping[str, Any]) -> tuple[str, int] | None:
    when, _, weight = _annotation(obj, PHASE).partition(":")
    if when not in ("pre", "post"):
        return None
    return when, int(weight or 0)


def _first(obj: Mapping[str, Any]) -> bool:
    """Namespaces and CRDs (the ``first`` phase of ``kfdeploy.kinds``) come before any hook."""
    return rule_of(obj).phase == "first"


def apply_phases(objs: Iterable[dict[str, Any]]) -> list[Phase]:
    """The application's objects in phases: [first,] pre by weight, the rest, post by weight."""
    hooks: dict[tuple[str, int], list[dict[str, Any]]] = {}
    rest: list[dict[str, Any]] = []
    for obj in objs:
        phase = _phase_of(obj)
        if phase is None:
            rest.append(obj)
        else:
            hooks.setdefault(phase, []).append(obj)
    if not hooks:
        return [Phase("resources", rest, wait=False)]
    first = [o for o in rest if _first(o)] if any(w == "pre" for w, _ in hooks) else []
    main = [o for o in rest if o not in first]
    pre, post = ([Phase(f"{when} hooks (weight {w})", hooks[(when, w)], True)
                  for w in sorted(w for k, w in hooks if k == when)] for when in ("pre", "post"))
    phases = ([Phase("namespaces and CRDs", first, True)] if first else []) + pre
    phases.append(Phase("resources", main, wait=bool(post)))
    return [p for p in phases + post if p.objects]
