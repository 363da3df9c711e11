"""The Argo CD export against Argo CD's real CRDs on the local control plane.

The CRDs come from the argo-cd module's ``manifests/crds`` in the Go module cache (downloaded
from the module proxy on first use, never copied into the project). Every Application, the
app-of-apps and the health config are created for real; the API server's structural schemas
drop fields they do not know, so a field kfdeploy writes that Argo CD would not read shows up
as missing on the live object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.kube.client import Cluster
from tests.cluster.conftest import SharedCluster
from tests.fakes import argocd

REPO = Path(__file__).resolve().parents[2]


def argo_crds(tmp: Path) -> list[dict[str, Any]]:
    try:
        return argocd.crds(tmp)
    except argocd.Unavailable as e:
        pytest.skip(str(e))


def test_argocd_export_is_accepted_by_argo_cds_crds(cluster: SharedCluster, tmp_path: Path) -> None:
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    crds = argo_crds(tmp_path)
    assert {c["spec"]["names"]["kind"] for c in crds} >= {"Application", "AppProject"}
    argocd.install(kube, crds)

    data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
    data["metadata"]["name"] = "argo"
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(cli, ["export", "-f", str(spec), "--format", "argocd", "-d", str(tmp_path / "repo"),
                                      "-o", "json"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    objects = argocd.export_objects(tmp_path / "repo", "argo")
    assert len([o for o in objects if o["kind"] == "Application"]) == len(json.loads(out)["clusters"][0]["applications"]) + 1
    dropped = argocd.dropped_fields(kube, objects)
    assert dropped == {}, f"fields the API server dropped (unknown to Argo CD's schema): {dropped}"
    live_apps = kube.list("argoproj.io/v1alpha1", "Application", namespace="argocd")
    waves = {a["metadata"]["name"]: a["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave")
             for a in live_apps}
    assert all(w is not None for n, w in waves.items() if n != "kfdeploy-argo")
    ignored = [i for a in live_apps for i in a["spec"].get("ignoreDifferences", [])]
    assert any(".webhooks[]?.clientConfig.caBundle" in i.get("jqPathExpressions", []) for i in ignored)
