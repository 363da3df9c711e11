"""Platform adjustments: the few changes a platform makes to every application's rendered
objects, whatever their source, declared as data and always reported.

A platform file (``platforms/<kind>.yaml``) names them under ``adjust`` (rule -> value); each
rule is a function here. They run after ``process`` on jsonnet, helm and kustomize output alike,
and each change becomes an ``Adjustment`` that plan and apply print, so a platform never rewrites
what a source set behind the user's back. The one rule today: on kwok, simulated pods cannot
answer admission calls, so webhooks are applied with ``failurePolicy: Ignore``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfdeploy.errors import RenderError
from kfdeploy.kinds import WEBHOOK_KINDS, group_kind
from kfdeploy.objects import describe
from kfdeploy.render.process import Obj

FAILURE_POLICIES = ("Ignore", "Fail")


@dataclass(frozen=True)
class Adjustment:
    """One object a platform changed, and how."""

    platform: str
    application: str
    object: str
    change: str

    def text(self) -> str:
        return f"{self.object} ({self.application}): {self.change}"


def _webhook_failure_policy(obj: Obj, policy: Any) -> tuple[Obj, list[str]]:
    """Every webhook of a Mutating/ValidatingWebhookConfiguration with ``failurePolicy: policy``
    (an unset policy is the API's default, Fail)."""
    if group_kind(obj) not in WEBHOOK_KINDS or not isinstance(obj.get("webhooks"), list):
        return obj, []
    hooks, changed = [], []
    for hook in obj["webhooks"]:
        old = hook.get("failurePolicy", "Fail") if isinstance(hook, dict) else policy
        if old != policy and isinstance(hook, dict):
            changed.append(f"webhook {hook.get('name', '?')} failurePolicy {old} -> {policy}")
            hook = {**hook, "failurePolicy": policy}
        hooks.append(hook)
    return ({**obj, "webhooks": hooks} if changed else obj), changed


def report_lines(adjustments: list[Adjustment], verbose: int = 0) -> list[str]:
    """What the platform changed, for plan, apply and build output: said every time as a count,
    listed one per line with ``-v`` (and always in ``-o json|yaml``)."""
    if not adjustments:
        return []
    head = f"Platform adjustments ({adjustments[0].platform}): {len(adjustments)} change(s)"
    if not verbose:
        return [head + " (-v lists them)"]
    return [head, *(f"  ~ {a.text()}" for a in adjustments)]


def report_data(adjustments: list[Adjustment]) -> list[dict[str, str]]:
    return [{"platform": a.platform, "application": a.application, "object": a.object,
             "change": a.change} for a in adjustments]


Rule = Callable[[Obj, Any], tuple[Obj, list[str]]]
RULES: dict[str, tuple[Rule, tuple[Any, ...]]] = {
    # rule name in platforms/<kind>.yaml -> (function, allowed values)
    "webhookFailurePolicy": (_webhook_failure_policy, FAILURE_POLICIES),
}


def check(adjust: Mapping[str, Any], where: Path | str) -> None:
    """Raise naming the platform file when it asks for an unknown rule or value."""
    problems = [f"{where}: adjust.{name}: unknown rule; rules: {', '.join(RULES)}"
                for name in adjust if name not in RULES]
    problems += [f"{where}: adjust.{name}: {value!r} is not one of {', '.join(map(str, RULES[name][1]))}"
                 for name, value in adjust.items() if name in RULES and value not in RULES[name][1]]
    if problems:
        raise RenderError("\n".join(problems))


def adjust(objects: list[Obj], rules: Mapping[str, Any], platform: str,
           application: str) -> tuple[list[Obj], list[Adjustment]]:
    """The objects with the platform's rules applied, and what each rule changed."""
    out, notes = [], []
    for obj in objects:
        for name, value in rules.items():
            obj, changes = RULES[name][0](obj, value)
            notes += [Adjustment(platform, application, describe(obj), c) for c in changes]
        out.append(obj)
    return out, notes
