"""Taking over objects last written by ``kubectl apply`` (client-side apply).

Such objects carry a ``kubectl.kubernetes.io/last-applied-configuration`` annotation and
managedFields entries of the manager ``kubectl-client-side-apply``. Server-side applying over
them leaves that manager co-owning every field (so fields later dropped from the spec are never
removed) or conflicts where values differ. Like kubectl's own upgrade, kfdeploy hands those
entries to its field manager as one Apply entry, then applies again: from then on the object is
kfdeploy's alone and the stale annotation goes away with the next apply.
"""

from __future__ import annotations

from typing import Any

from kfdeploy.kinds import rule_for

CLIENT_SIDE_MANAGERS = frozenset({"kubectl-client-side-apply", "before-first-apply"})


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Union of two fieldsV1 trees."""
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def upgraded_managed_fields(entries: list[dict[str, Any]], manager: str) -> list[dict[str, Any]] | None:
    """``entries`` with the client-side-apply ones folded into ``manager``'s Apply entry, or None
    when there is nothing to take over."""
    csa = [e for e in entries if e.get("manager") in CLIENT_SIDE_MANAGERS
           and e.get("operation") == "Update" and not e.get("subresource")]
    if not csa:
        return None
    ours = next((e for e in entries if e.get("manager") == manager and e.get("operation") == "Apply"
                 and not e.get("subresource")), None)
    fields: dict[str, Any] = {}
    for entry in [*csa, *([ours] if ours else [])]:
        fields = _merge(fields, entry.get("fieldsV1") or {})
    merged = {"manager": manager, "operation": "Apply", "apiVersion": (ours or csa[0]).get("apiVersion"),
              "fieldsType": "FieldsV1", "fieldsV1": fields}
    if (ours or csa[0]).get("time"):
        merged["time"] = (ours or csa[0])["time"]
    return [e for e in entries if e not in csa and e is not ours] + [merged]


def needs_upgrade(live: dict[str, Any] | None) -> bool:
    entries = ((live or {}).get("metadata") or {}).get("managedFields") or []
    return any(e.get("manager") in CLIENT_SIDE_MANAGERS and e.get("operation") == "Update" for e in entries)


# -- pod template labels of earlier versions ----------------------------------------------------

# Kinds whose pod template cannot change once created.


def _owned_template_labels(live: dict[str, Any], manager: str) -> set[str]:
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
            fields = entry.get("fieldsV1") or {}
            for step in ("f:spec", "f:template", "f:metadata", "f:labels"):
                fields = fields.get(step) or {}
            return {k[2:] for k in fields if k.startswith("f:")}
    return set()


def keep_template_labels(desired: dict[str, Any], live: dict[str, Any], manager: str,
                         group: str) -> tuple[dict[str, Any], dict[str, str]]:
    """``desired`` plus the labels ``manager`` applied on an immutable pod template before and
    no longer renders (earlier versions labelled pod templates). Applying without them would
    remove them, which the API server rejects as a change of an immutable field; keeping them
    changes nothing. Returns the object to apply and the labels kept."""
    if not rule_for(group, str(desired.get("kind") or "")).template_immutable:
        return desired, {}
    live_labels = (((live.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    template = (desired.get("spec") or {}).get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    kept = {k: live_labels[k] for k in sorted(_owned_template_labels(live, manager))
            if k in live_labels and k not in labels}
    if not kept:
        return desired, {}
    meta = {**(template.get("metadata") or {}), "labels": {**labels, **kept}}
    return {**desired, "spec": {**desired["spec"], "template": {**template, "metadata": meta}}}, kept
