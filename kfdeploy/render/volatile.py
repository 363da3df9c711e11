"""Values a helm chart generates anew on every render, kept from the first apply.

Charts make passwords and keys with ``randAlphaNum``, ``genPrivateKey`` and friends, and keep
them under ``helm install`` with ``lookup``, which finds nothing under ``helm template``: every
render would rotate them, and a database initialised with the first one would lock its services
out. kfdeploy renders a chart twice; a Secret value that differs between the two (``data`` or
``stringData``) is *volatile* and becomes a credential like a component's
(``kfdeploy/credentials.py``): the value stored in the cluster by an earlier apply, else the live
Secret's (an install made before), else this render's, stored under
``<application>.<namespace>_<name>_<key>``; a placeholder offline, so ``build`` and ``export``
stay byte-identical and an engine gets them from ``credentials seed``. An application with
volatile values is never put in the render cache (they are secret).

Values that differ outside Secrets (a webhook's ``caBundle`` from ``genCA``) cannot be kept
apart from the Secret holding their key: such a chart's values are all left as each render
makes them, and the render says so, naming them and the fix (set them in ``helm.values``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kfdeploy.credentials import Credentials, store_key
from kfdeploy.kinds import SECRET, group_kind
from kfdeploy.objects import describe, object_key

Obj = dict[str, Any]
SECRET_FIELDS = ("data", "stringData")


@dataclass(frozen=True)
class Volatile:
    """What differs between two renders of one application."""

    secret_keys: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    # (namespace, name) -> [(field, key)] of Secrets
    elsewhere: list[str] = field(default_factory=list)  # "Kind/ns/name: path" outside Secret values

    def __bool__(self) -> bool:
        return bool(self.secret_keys or self.elsewhere)


def find(first: list[Obj], second: list[Obj]) -> Volatile:
    """Compare two renders of the same sources."""
    again = {object_key(o): o for o in second}
    secret_keys: dict[tuple[str, str], list[tuple[str, str]]] = {}
    elsewhere: list[str] = []
    for obj in first:
        other = again.get(object_key(obj))
        if other is None or other == obj:
            continue
        if group_kind(obj) == SECRET:
            meta = obj["metadata"]
            keys = [(f, k) for f in SECRET_FIELDS for k, v in (obj.get(f) or {}).items()
                    if (other.get(f) or {}).get(k) != v]
            if keys:
                secret_keys[(meta.get("namespace", ""), meta["name"])] = keys
            rest = ({k: v for k, v in obj.items() if k not in SECRET_FIELDS},
                    {k: v for k, v in other.items() if k not in SECRET_FIELDS})
            elsewhere += [f"{describe(obj)}: {p}" for p in _paths(*rest)]
        else:
            elsewhere += [f"{describe(obj)}: {p}" for p in _paths(obj, other)]
    return Volatile(secret_keys, elsewhere)


def _paths(a: Any, b: Any, path: str = "") -> Iterator[str]:
    """The paths where ``a`` and ``b`` differ (leaves, or a whole list that differs in length)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                yield from _paths(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                yield from _paths(x, y, f"{path}[{i}]")
    elif a != b:
        yield path.lstrip(".") or "(the object)"


def warn(app: str, volatile: Volatile) -> None:
    """Say, once per render, that a chart's values differ outside Secrets and cannot be kept."""
    if volatile.elsewhere:
        shown = ", ".join(volatile.elsewhere[:3]) + (" ..." if len(volatile.elsewhere) > 3 else "")
        print(f"kfdeploy: warning: helm application '{app}': the chart generates values anew on every"
              f" render outside Secrets ({shown}), so none of its generated values can be kept and each"
              " apply changes them; set them in helm.values (a secretRef for a secret one)",
              file=sys.stderr, flush=True)


def keep(app: str, namespace: str, objects: list[Obj], volatile: Volatile, credentials: Credentials) -> list[Obj]:
    """``objects`` with every volatile Secret value kept (see the module's docstring; a Secret
    without a namespace is in the application's ``namespace``); left as rendered when values
    differ outside Secrets too (``warn`` says so)."""
    if volatile.elsewhere:
        return objects
    out = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        keys = volatile.secret_keys.get((meta.get("namespace", ""), meta.get("name", ""))) \
            if group_kind(obj) == SECRET else None
        if not keys:
            out.append(obj)
            continue
        obj = copy.deepcopy(obj)
        for fld, key in keys:
            rendered = _plain(fld, obj[fld][key])
            if rendered is None:  # binary data: kept as rendered
                continue
            ns = meta.get("namespace") or namespace
            # a Secret key allows [-._a-zA-Z0-9]; namespaces and names have no "_": unambiguous
            value = credentials.kept(store_key(app, f"{ns}_{meta['name']}_{key}"), rendered, (ns, meta["name"], key))
            if credentials.placeholders:  # a placeholder is no base64: it goes to stringData
                obj[fld].pop(key)
                obj.setdefault("stringData", {})[key] = value
            else:
                obj[fld][key] = base64.b64encode(value.encode()).decode() if fld == "data" else value
        for fld in SECRET_FIELDS:
            if fld in obj and not obj[fld]:
                obj.pop(fld)
        out.append(obj)
    return out


def _plain(fld: str, value: Any) -> str | None:
    if fld == "stringData":
        return str(value)
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None

