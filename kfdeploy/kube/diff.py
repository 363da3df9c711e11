"""What would change: comparison of a live object with its server-side dry-run, for ``plan``.

Both sides come from the API server (the live object and the dry-run result of applying the
desired one), so defaults are already filled in on both and a plain comparison is honest once the
fields the server writes for its own bookkeeping are removed (``normalize``). Secret values never
leave this module in clear: they are replaced by their length and a keyed hash, which shows that a
value changed without revealing it, and which cannot be looked up in a dictionary of common
passwords because the key is random per process.
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from kfdeploy.kinds import rule_of
from kfdeploy.labels import HASH, LAST_APPLIED
from kfdeploy.objects import ObjectKey, describe_key
from kfdeploy.quantity import parse_or_none

SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
# Bookkeeping, not content: kubectl's and the deployment controller's, and kfdeploy's own hash.
SERVER_ANNOTATIONS = (LAST_APPLIED, "deployment.kubernetes.io/revision", HASH)

_PROCESS_KEY = os.urandom(16)
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

# --- normalize and mask ----------------------------------------------------------------------


def normalize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without the fields the server populates (status, managedFields, resourceVersion, ...)."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for field in SERVER_METADATA:
            meta.pop(field, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            for name in SERVER_ANNOTATIONS:
                annotations.pop(name, None)
            if not annotations:
                del meta["annotations"]
    return out


def _secret_bytes(value: Any, encoded: bool) -> bytes:
    text = value if isinstance(value, str) else json.dumps(value)
    if encoded:
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            pass
    return text.encode()


def _marker(raw: bytes, key: bytes) -> str:
    digest = hmac.new(key, raw, hashlib.sha256).hexdigest()[:8]
    return f"(masked, {len(raw)} bytes, hash {digest})"


def mask_secrets(obj: Mapping[str, Any], key: bytes = _PROCESS_KEY) -> dict[str, Any]:
    """A copy in which a Secret's ``data``/``stringData`` values (and any last-applied annotation,
    which holds them in clear) are replaced by a marker; other kinds are returned unchanged.

    Equal values give equal markers under the same ``key`` (random per process by default).
    """
    out = copy.deepcopy(dict(obj))
    if not rule_of(out).masked:
        return out
    for field, encoded in (("data", True), ("stringData", False)):
        values = out.get(field)
        if isinstance(values, dict):
            out[field] = {k: _marker(_secret_bytes(v, encoded), key) for k, v in values.items()}
    annotations = (out.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and SERVER_ANNOTATIONS[0] in annotations:
        annotations[SERVER_ANNOTATIONS[0]] = "(masked)"
    return out


def _comparable(obj: Mapping[str, Any] | None, key: bytes) -> dict[str, Any]:
    return mask_secrets(normalize(obj), key) if obj is not None else {}


# --- paths ---------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    part = key if _PLAIN_KEY.match(key) else f'["{key}"]'
    if not path:
        return part
    return f"{path}{part}" if part.startswith("[") else f"{path}.{part}"


_FIRST_KEYS = ("apiVersion", "kind", "metadata", "name", "namespace")


def _canonical(value: Any) -> Any:
    """Keys in a stable, readable order: identity keys first (so list items start with their
    ``name``), then alphabetical; both sides of a diff then line up whatever order the server used."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (_FIRST_KEYS.index(k) if k in _FIRST_KEYS else len(_FIRST_KEYS), str(k)))
        return {k: _canonical(value[k]) for k in keys}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _dump(obj: Mapping[str, Any]) -> list[str]:
    if not obj:
        return []
    text: str = yaml.safe_dump(_canonical(obj), sort_keys=False, default_flow_style=False, allow_unicode=True)
    return text.splitlines(keepends=True)


def render_diff(
    key: str | ObjectKey,
    live: Mapping[str, Any] | None,
    desired: Mapping[str, Any] | None,
    mask_key: bytes = _PROCESS_KEY,
) -> str:
    """A unified diff of normalized, masked YAML (``""`` when nothing changed); ``None`` on one side
    is a create or a delete."""
    name = key if isinstance(key, str) else describe_key(key)
    lines = difflib.unified_diff(
        _dump(_comparable(live, mask_key)),
        _dump(_comparable(desired, mask_key)),
        fromfile=f"live/{name}",
        tofile=f"desired/{name}",
    )
    return "".join(lines)


# --- drift ----------------------------------------------------------------------------------


def drift(live: Any, desired: Any, path: str = "", limit: int = 5) -> list[str]:
    """Paths where ``live`` no longer holds what ``desired`` sets (fields the server added are
    fine; quantities compare by value, so ``0.5`` equals ``500m``). Catches edits made outside
    kfdeploy to fields it applies, which a content hash of the desired object cannot see."""
    out: list[str] = []
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        for key, value in desired.items():
            if len(out) >= limit:
                break
            sub = _join(path, str(key))
            if value is None or value == "":
                continue  # unset: the server or a controller fills it in
            if live.get(key) is None:  # absent, or null: how the server returns an empty list it keeps
                out += [] if _empty(value) else [sub]  # the server drops empty values (omitempty)
                continue
            out += drift(live[key], value, sub, limit - len(out))
    elif isinstance(desired, list) and isinstance(live, list):
        if len(desired) != len(live):
            return [path]
        for i, (old, new) in enumerate(zip(live, desired, strict=True)):
            out += drift(old, new, f"{path}[{i}]", limit - len(out))
            if len(out) >= limit:
                break
    elif live != desired and not _same_quantity(live, desired):
        out.append(path)
    return out


def _empty(value: Any) -> bool:
    """0, false, [] or {}: a value the server omits, but that still counts once it is there."""
    return value in (0, False, [], {}) and not isinstance(value, str)


def _same_quantity(live: Any, desired: Any) -> bool:
    if not isinstance(live, (str, int, float)) or not isinstance(desired, (str, int, float)):
        return False
    old, new = parse_or_none(live), parse_or_none(desired)
    return old is not None and old == new


def object_drift(live: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    """``drift`` for whole objects: status and server bookkeeping are ignored, and a Secret's
    ``stringData`` is compared with the base64 ``data`` the server stores."""
    want = {k: v for k, v in desired.items() if k not in ("apiVersion", "kind", "status", "metadata")}
    want["metadata"] = {k: v for k, v in (desired.get("metadata") or {}).items()
                        if k in ("labels", "annotations")}
    if rule_of(desired).masked and isinstance(desired.get("stringData"), Mapping):
        encoded = {k: base64.b64encode(str(v).encode()).decode() for k, v in desired["stringData"].items()}
        want["data"] = {**(desired.get("data") or {}), **encoded}
        want.pop("stringData")
    return drift(live, want)


