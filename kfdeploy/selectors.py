"""Kubernetes label selectors (``matchLabels`` and ``matchExpressions``), evaluated over plain
dicts: how kfdeploy finds a workload's pods and checks that a workload selects its own template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _expression(expr: Mapping[str, Any], labels: Mapping[str, str], unknown: bool) -> bool:
    key, op, values = str(expr.get("key") or ""), expr.get("operator"), expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return unknown  # the API server rejects other operators; the caller says which way to err


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str], *, unknown: bool = False) -> bool:
    """Whether a LabelSelector selects ``labels``. An empty selector selects everything; a
    missing one (None) selects nothing, as for workloads. An expression with an unknown
    operator counts as ``unknown``."""
    if selector is None:
        return False
    match_labels = selector.get("matchLabels") or {}
    return (all(labels.get(k) == v for k, v in match_labels.items())
            and all(_expression(e, labels, unknown) for e in selector.get("matchExpressions") or []))


def workload_selector(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """``spec.selector`` of a workload as a LabelSelector, or None when it has none."""
    selector = (obj.get("spec") or {}).get("selector")
    return selector if isinstance(selector, Mapping) else None
