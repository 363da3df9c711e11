"""The Argo CD export against Argo CD's real CRDs on the local control plane.

The CRDs come from the argo-cd module's ``manifests/crds`` in the Go module cache (downloaded
from the module proxy on first use, never copied into the project). Every Application, the
app-of-apps and the health config are created for real; the API server's structural schemas
drop fields they do not know, so a field kfdeploy writes that Argo CD would not read shows up
as missing on the live object.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.kube.client import Cluster
from kfdeploy.kube.diff import drift
from kfdeploy.kube.wait import wait_established
from tests.cluster.conftest import SharedCluster

REPO = Path(__file__).resolve().parents[2]
ARGO_CD = "github.com/argoproj/argo-cd/v3@v3.5.8"  # v3.6.x needs Go 1.27


def argo_crds(tmp: Path) -> list[dict[str, Any]]:
    if shutil.which("go") is None:
        pytest.skip("the Go toolchain is needed to fetch Argo CD's CRDs from the module proxy")
    done = subprocess.run(["go", "mod", "download", "-json", ARGO_CD], cwd=tmp, capture_output=True, text=True)
    info = json.loads(done.stdout or "{}")
    if done.returncode != 0 or not info.get("Dir"):
        pytest.skip(f"could not download {ARGO_CD}: {info.get('Error') or done.stderr.strip()}")
    crds = Path(info["Dir"]) / "manifests" / "crds"
    return [d for p in sorted(crds.glob("*-crd.yaml")) for d in yaml.safe_load_all(p.read_text()) if d]


def test_argocd_export_is_accepted_by_argo_cds_crds(cluster: SharedCluster, tmp_path: Path) -> None:
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    crds = argo_crds(tmp_path)
    assert {c["spec"]["names"]["kind"] for c in crds} >= {"Application", "AppProject"}
    for crd in crds:
        kube.apply(crd)
    assert wait_established(kube, crds, time.monotonic() + 120) == []
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})

    data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
    data["metadata"]["name"] = "argo"
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(cli, ["export", "-f", str(spec), "--format", "argocd", "-d", str(tmp_path / "repo"),
                                      "-o", "json"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    base = tmp_path / "repo" / "clusters" / "argo" / "argocd"
    objects = [d for p in [base / "root.yaml", base / "argocd-cm.yaml", *sorted((base / "apps").glob("*.yaml"))]
               for d in yaml.safe_load_all(p.read_text()) if d]
    assert len([o for o in objects if o["kind"] == "Application"]) == len(json.loads(out)["clusters"][0]["applications"]) + 1
    dropped = {}
    for obj in objects:
        live = kube.apply(obj)
        lost = drift(live, {k: v for k, v in obj.items() if k != "metadata"})
        if lost:
            dropped[obj["metadata"]["name"]] = lost
    assert dropped == {}, f"fields the API server dropped (unknown to Argo CD's schema): {dropped}"
    live_apps = kube.list("argoproj.io/v1alpha1", "Application", namespace="argocd")
    waves = {a["metadata"]["name"]: a["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave")
             for a in live_apps}
    assert all(w is not None for n, w in waves.items() if n != "kfdeploy-argo")
    ignored = [i for a in live_apps for i in a["spec"].get("ignoreDifferences", [])]
    assert any(".webhooks[]?.clientConfig.caBundle" in i.get("jqPathExpressions", []) for i in ignored)
