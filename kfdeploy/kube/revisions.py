"""Revisions: what each apply that changed the cluster was made from, kept beside the inventory.

A revision is small and exact: the spec as the user wrote it (secret values replaced by a
placeholder; only their references, ``envSource`` names and ``secretRef`` markers, are kept),
the lock file's text, kfdeploy's version, a digest of the rendered objects per application, the
plan's counts and the outcome. Renders are deterministic, so a revision re-renders to the
objects it applied; no manifest is stored in the cluster.

Each revision is one ConfigMap ``kfdeploy.<kfdef>.revision.<N>`` in ``kfdeploy-system`` whose
``binaryData`` holds the record as gzip-compressed JSON; a record whose compressed form exceeds
PART_BYTES (a lock of many remote bases) is split over ConfigMaps ``...revision.<N>.<i>``, so no
object comes near the API server's 1 MiB limit. They carry no ApplySet label: prune never
removes them. The record is written as ``in-progress`` before the apply's first change and
rewritten with its outcome when the apply ends; one still in progress when read later was
interrupted (killed, or its connection lost).
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from kfdeploy.kube.client import Cluster, KubeApiError
from kfdeploy.kube.inventory import NAMESPACE
from kfdeploy.kube.plan import Action

Outcome = Literal["in-progress", "healthy", "failed", "interrupted"]
REVISIONS_OF = "kfdeploy.io/revisions-of"
REVISION = "kfdeploy.io/revision"
RECORD_KEY = "record.json.gz"
PART_BYTES = 512 * 1024  # compressed bytes per ConfigMap: base64 and metadata stay far below 1 MiB
SECRET_NOT_RECORDED = "(not recorded: kfdeploy never stores secret values; put the value back here)"
PLAN_ACTIONS: tuple[Action, ...] = ("create", "update", "recreate", "delete", "keep")


@dataclass
class Revision:
    """One revision record; ``to_data``/``from_data`` are its stored JSON (camelCase keys)."""

    number: int
    time: str
    user: str
    kfdeploy_version: str
    spec: dict[str, Any]
    spec_hash: str
    lock: str | None = None
    applications: dict[str, str] = field(default_factory=dict)  # application -> render digest
    plan: dict[str, int] = field(default_factory=dict)  # action -> objects
    outcome: Outcome = "in-progress"
    finished: str = ""
    rollback_to: int | None = None  # this revision rolled the cluster back to that one

    @property
    def shown_outcome(self) -> Outcome:
        """What happened, as read after the fact: a record never finished was interrupted."""
        return "interrupted" if self.outcome == "in-progress" else self.outcome

    def to_data(self) -> dict[str, Any]:
        return {_camel(k): v for k, v in asdict(self).items()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Revision:
        return cls(**{_snake(k): v for k, v in data.items() if _snake(k) in cls.__dataclass_fields__})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def redact_secrets(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of a spec document whose literal secret values are replaced by a placeholder."""
    doc: dict[str, Any] = json.loads(json.dumps(document))
    for secret in (doc.get("spec") or {}).get("secrets") or []:
        literal = (secret.get("secretSource") or {}).get("literalSource")
        if isinstance(literal, dict) and "value" in literal:
            literal["value"] = SECRET_NOT_RECORDED
    return doc


# -- encoding -------------------------------------------------------------------------------------

def encode(revision: Revision) -> list[bytes]:
    """The record as gzip-compressed JSON, in parts of at most PART_BYTES."""
    text = json.dumps(revision.to_data(), sort_keys=True, separators=(",", ":"))
    blob = gzip.compress(text.encode(), mtime=0)
    return [blob[i:i + PART_BYTES] for i in range(0, len(blob), PART_BYTES)] or [b""]


def decode(parts: list[bytes]) -> Revision:
    return Revision.from_data(json.loads(gzip.decompress(b"".join(parts))))


def configmaps(kfdef: str, revision: Revision) -> list[dict[str, Any]]:
    """The ConfigMaps that hold one revision (part 0 first)."""
    parts = encode(revision)
    return [{"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": object_name(kfdef, revision.number, i), "namespace": NAMESPACE,
                          "labels": {REVISIONS_OF: kfdef, REVISION: str(revision.number),
                                     "app.kubernetes.io/managed-by": "kfdeploy"}},
             "data": {"part": str(i), "parts": str(len(parts))},
             "binaryData": {RECORD_KEY: base64.b64encode(blob).decode()}} for i, blob in enumerate(parts)]


def object_name(kfdef: str, number: int, part: int = 0) -> str:
    return f"kfdeploy.{kfdef}.revision.{number}" + (f".{part}" if part else "")


def from_configmaps(cms: list[dict[str, Any]]) -> dict[int, Revision]:
    """Revisions by number from their ConfigMaps; a revision missing a part is left out."""
    by_number: dict[int, dict[int, dict[str, Any]]] = {}
    for cm in cms:
        number = int(cm["metadata"]["labels"][REVISION])
        by_number.setdefault(number, {})[int((cm.get("data") or {}).get("part", "0"))] = cm
    out = {}
    for number, parts in by_number.items():
        total = int((parts.get(0, {}).get("data") or {}).get("parts", "0"))
        if total and all(i in parts for i in range(total)):
            out[number] = decode([base64.b64decode(parts[i]["binaryData"][RECORD_KEY]) for i in range(total)])
    return out


def to_trim(numbers: list[int], limit: int) -> list[int]:
    """The revisions to delete so only the newest ``limit`` remain."""
    return sorted(numbers)[:-limit] if limit > 0 else []


# -- the store ------------------------------------------------------------------------------------

class RevisionStore:
    """Reads and writes the revisions of one KfDef."""

    def __init__(self, cluster: Cluster, kfdef: str) -> None:
        self.cluster = cluster
        self.kfdef = kfdef

    def _list(self) -> list[dict[str, Any]]:
        try:
            return self.cluster.list("v1", "ConfigMap", namespace=NAMESPACE,
                                     label_selector=f"{REVISIONS_OF}={self.kfdef}")
        except KubeApiError as e:
            if e.status == 404:
                return []
            raise

    def all(self) -> list[Revision]:
        """Every stored revision, oldest first."""
        return [r for _, r in sorted(from_configmaps(self._list()).items())]

    def next_number(self) -> int:
        numbers = [int(cm["metadata"]["labels"][REVISION]) for cm in self._list()]
        return max(numbers, default=0) + 1

    def write(self, revision: Revision) -> None:
        """Create or replace the revision (and kfdeploy's namespace, on a first install)."""
        self.cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "kfdeploy"}}})
        for cm in configmaps(self.kfdef, revision):
            self.cluster.apply(cm, force=True)

    def trim(self, limit: int) -> list[int]:
        """Delete all but the newest ``limit`` revisions; returns the numbers deleted."""
        cms = self._list()
        gone = set(to_trim(list({int(cm["metadata"]["labels"][REVISION]) for cm in cms}), limit))
        for cm in cms:
            if int(cm["metadata"]["labels"][REVISION]) in gone:
                self.cluster.delete(cm)
        return sorted(gone)

    def user(self) -> str:
        """Who the client is, as the API server authenticates it (SelfSubjectReview)."""
        try:
            review = self.cluster.call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                       body={"apiVersion": "authentication.k8s.io/v1",
                                             "kind": "SelfSubjectReview"},
                                       content_type="application/json")
        except KubeApiError as e:
            return f"unknown (SelfSubjectReview: {e.status} {e.reason})"
        return str(((review.get("status") or {}).get("userInfo") or {}).get("username") or "unknown")
