"""Where generated credentials live: one Secret per KfDef in kfdeploy's namespace.

It is read before every plan and apply (so values are chosen once and kept) and written before
anything that reads them is applied. It carries no ApplySet label: prune never removes it, and
``kfdeploy delete`` leaves it, so volumes kept by delete still open with the same passwords on a
re-install.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.inventory import NAMESPACE, ensure_namespace
from kfdeploy.labels import CREDENTIALS_OF, OURS, RECONCILED_BY


def store_name(kfdef: str) -> str:
    return f"kfdeploy.{kfdef}.credentials"


def _stub(kfdef: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": store_name(kfdef), "namespace": NAMESPACE}}


def read(cluster: Cluster, kfdef: str) -> dict[str, str]:
    """The stored values; empty when there is no store yet (any error but 404 propagates)."""
    data = (cluster.get(_stub(kfdef)) or {}).get("data") or {}
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def write(cluster: Cluster, kfdef: str, values: Mapping[str, str]) -> None:
    """Create or update the store (and kfdeploy's namespace, on a first install)."""
    ensure_namespace(cluster)
    stub = _stub(kfdef)
    cluster.apply({**stub, "metadata": {**stub["metadata"], "labels": {
        CREDENTIALS_OF: kfdef, **OURS}},
        "type": "Opaque", "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(values.items())}},
        force=True)


def mark_gitops(cluster: Cluster, kfdef: str) -> None:
    """Record on the store that a GitOps engine applies this KfDef (its own field manager, so
    ``write`` never takes the label away)."""
    stub = _stub(kfdef)
    cluster.apply({**stub, "metadata": {**stub["metadata"], "labels": {RECONCILED_BY: "gitops"}}},
                  field_manager="kfdeploy-seed")


def reconciled_by_gitops(cluster: Cluster, kfdef: str) -> bool:
    labels = ((cluster.get(_stub(kfdef)) or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(RECONCILED_BY) == "gitops"


def secret_reader(cluster: Cluster) -> Callable[[str, str, str], str | None]:
    """Reads one key of a live Secret (None when the Secret or the key is absent): where an
    install made before the store kept a credential its data was initialised with."""
    def read_key(namespace: str, name: str, key: str) -> str | None:
        live = cluster.get({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}})
        value = ((live or {}).get("data") or {}).get(key)
        return None if value is None else base64.b64decode(value).decode()
    return read_key
