"""A real Flux reconciles kfdeploy's export on the local control plane.

Flux's source-controller and kustomize-controller (``make tools-flux``) run as local processes
against the kwok API server, with Flux's CRDs from the same modules; they read a Git repository
this test serves over http on 127.0.0.1 (``git http-backend``). Steps: export the default
platform, seed its credentials, push, and see every Kustomization Ready in dependency order and
``kfdeploy status`` Healthy; edit the spec, re-export and push, and see Flux apply only the
change; remove an application and see Flux prune it, its PersistentVolumeClaim kept.
Opt-in: ``-m flux`` (skipped with the reason when the controllers are not built).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.kube.client import Cluster
from tests.cluster.conftest import SharedCluster, cli_run, eventually
from tests.fakes.flux import Flux, ready

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.flux


def spec_file(path: Path, drop: tuple[str, ...] = (), params: dict[str, Any] | None = None) -> Path:
    """The repository's kfdef.yaml, named after this test (its own inventory), optionally edited."""
    data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
    data["metadata"]["name"] = "fluxed"
    data["spec"]["applications"] = [a for a in data["spec"]["applications"] if a["name"] not in drop]
    data["spec"]["params"] = params or {}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def export(flux: Flux, spec: Path) -> dict[str, Any]:
    """``kfdeploy export`` (it reaches no cluster) into the clone the test pushes from."""
    result = CliRunner().invoke(cli, ["export", "-f", str(spec), "--format", "flux", "-d", str(flux.work),
                                      "--repo-url", flux.repo_url, "-o", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def live_versions(kube: Cluster, objects: list[dict[str, Any]]) -> dict[str, str]:
    """A version per object that moves only when its content is written: ``generation`` where
    the server keeps one, else ``resourceVersion`` (objects without status)."""
    out = {}
    for obj in objects:
        live = kube.get(obj)
        if live is not None:
            meta = live["metadata"]
            key = f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"
            out[key] = str(meta.get("generation") or ("rv" + meta["resourceVersion"] if "status" not in live else ""))
    return {k: v for k, v in out.items() if v}


def test_flux_reconciles_the_export(cluster: SharedCluster, flux: Flux, tmp_path: Path) -> None:
    spec = spec_file(tmp_path / "kfdef.yaml")
    result = export(flux, spec)
    names = set(result["clusters"][0]["applications"])
    code, _, err = cli_run(cluster, "credentials", "seed", "-f", str(spec))
    assert code == 0, err
    flux.bootstrap("fluxed")
    revision = flux.push("kfdeploy export")

    # 1. Every Kustomization Ready, each after the ones it depends on; kfdeploy status Healthy.
    ks = flux.wait_synced(revision, names)
    first_ready = {n: datetime.fromisoformat(ready(k)["lastTransitionTime"].replace("Z", "+00:00"))  # type: ignore[index]
                   for n, k in ks.items()}
    edges = [(n, d["name"]) for n, k in ks.items() for d in k["spec"].get("dependsOn", [])]
    assert edges
    for app, dep in edges:
        assert first_ready[dep] <= first_ready[app], f"{app} became Ready before its dependency {dep}"
    code, out, err = cli_run(cluster, "status", "-f", str(spec), "-o", "json")
    assert code == 0, out
    assert {c["health"] for c in json.loads(out)["components"]} == {"Healthy"}
    code, out, err = cli_run(cluster, "plan", "-f", str(spec), "-o", "json")
    plan = json.loads(out)
    noisy = [(a["name"], c) for a in plan["applications"] for c in a["changes"]]
    assert code == 0 and noisy == [], f"plan after Flux applied the export: {noisy[:10]}"
    # Reconciled again at the same revision, Flux changes nothing: no fight with a controller,
    # nor with the namespaces `credentials seed` created for its Secrets.
    again = flux.reconcile_again()
    assert [a for a in again if a[2] != "unchanged"] == [], again

    # 2. An edit reaches the cluster as exactly that change.
    from kfdeploy.render import render
    from kfdeploy.spec import load_spec
    objects = render(load_spec(str(spec))).objects
    before = live_versions(flux.kube, objects)
    edited = spec_file(tmp_path / "kfdef.yaml", params={"central-dashboard": {"replicas": 2}})
    result = export(flux, edited)
    assert result["written"] == ["apps/central-dashboard/manifests.yaml"]
    revision = flux.push("central-dashboard: 2 replicas")
    flux.reconcile_now()
    flux.wait_synced(revision, names)
    after = live_versions(flux.kube, objects)
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert changed == ["Deployment/kubeflow/centraldashboard"], changed

    # 3. A removed application is pruned, its PersistentVolumeClaims kept.
    gone = "katib"
    pvcs = [o for o in objects if o["kind"] == "PersistentVolumeClaim"
            and o["metadata"]["labels"].get("kfdeploy.io/application") == gone]
    deployments = [o for o in objects if o["kind"] == "Deployment"
                   and o["metadata"]["labels"].get("kfdeploy.io/application") == gone]
    assert pvcs and deployments
    export(flux, spec_file(tmp_path / "kfdef.yaml", drop=(gone,),
                                    params={"central-dashboard": {"replicas": 2}}))
    revision = flux.push(f"remove {gone}")
    flux.reconcile_now()
    flux.wait_synced(revision, names - {gone})
    eventually(lambda: [d["metadata"]["name"] for d in deployments if flux.kube.get(d) is not None],
               lambda left: left == [], f"{gone}'s Deployments pruned", 300)
    assert all(flux.kube.get(p) is not None for p in pvcs), "a PersistentVolumeClaim was pruned"
