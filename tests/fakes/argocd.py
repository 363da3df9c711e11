"""Argo CD's CRDs, from the argo-cd module's ``manifests/crds`` in the Go module cache.

Downloaded from the Go module proxy on first use (``go mod download``), never copied into the
project. Shared by the cluster tier (tests/cluster/test_argocd_export.py) and the official-release
benchmark (bench/releases.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.kube.client import Cluster
from kfdeploy.kube.diff import drift
from kfdeploy.kube.wait import wait_established

NAMESPACE = "argocd"
ARGO_CD = "github.com/argoproj/argo-cd/v3@v3.5.8"  # v3.6.x needs Go 1.27


class Unavailable(Exception):
    """The CRDs cannot be had here (no Go toolchain, or the module proxy refused)."""


def crds(cwd: Path) -> list[dict[str, Any]]:
    """The argo-cd module's CRDs (Application, ApplicationSet, AppProject)."""
    if shutil.which("go") is None:
        raise Unavailable("the Go toolchain is needed to fetch Argo CD's CRDs from the module proxy")
    done = subprocess.run(["go", "mod", "download", "-json", ARGO_CD], cwd=cwd, capture_output=True, text=True)
    info = json.loads(done.stdout or "{}")
    if done.returncode != 0 or not info.get("Dir"):
        raise Unavailable(f"could not download {ARGO_CD}: {info.get('Error') or done.stderr.strip()}")
    folder = Path(info["Dir"]) / "manifests" / "crds"
    return [d for p in sorted(folder.glob("*-crd.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


def install(kube: Cluster, definitions: list[dict[str, Any]]) -> None:
    """The CRDs, Established, and the ``argocd`` namespace."""
    for crd in definitions:
        kube.apply(crd)
    not_established = wait_established(kube, definitions, time.monotonic() + 120)
    assert not_established == [], f"Argo CD's CRDs not Established: {not_established}"
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})


def export_objects(repo: Path, cluster: str) -> list[dict[str, Any]]:
    """The Argo CD objects of one cluster's export: the root, argocd-cm, every Application."""
    base = repo / "clusters" / cluster / "argocd"
    return [d for p in [base / "root.yaml", base / "argocd-cm.yaml", *sorted((base / "apps").glob("*.yaml"))]
            for d in yaml.safe_load_all(p.read_text()) if d]


def dropped_fields(kube: Cluster, objects: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply each object server-side; per object, the fields the API server dropped (its
    structural schema does not know them, so Argo CD would not read them)."""
    dropped = {}
    for obj in objects:
        live = kube.apply(obj)
        lost = drift(live, {k: v for k, v in obj.items() if k != "metadata"})
        if lost:
            dropped[obj["metadata"]["name"]] = lost
    return dropped
