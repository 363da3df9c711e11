"""Revisions on the real local control plane, with the fixture releases (tests/fixtures/repos):
install v1, upgrade to v2, ``history`` shows both; ``rollback`` brings v1's objects back (v2's
pruned, the PVC kept, generated credentials unchanged), ends Healthy and leaves the v1 spec a
no-op; an apply killed with SIGKILL shows as interrupted and a rollback from it converges; a
rollback across an immutable change needs ``--recreate``; no stored revision holds a secret
value; history is trimmed; a 2,000-object spec keeps every revision object far under 1 MiB."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.https_proxy import Origin
from kubernetes import client

from kfdeploy.errors import EXIT_BAD_INPUT

from .conftest import REPO, cli_invoke, cli_run, eventually
from .test_kustomize_release import REPOS, release_copy, write_spec
from .test_recreate import write_spec as write_selector_spec

LITERAL = "literal-" + uuid.uuid4().hex  # spec-given values, searched for in every stored object
FROM_ENV = "from-env-" + uuid.uuid4().hex
STUCK = """apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck, namespace: NS}
spec:
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {kfdeploy.io/test: no-such-node}
      containers: [{name: main, image: registry.example/stuck:1}]
"""


@pytest.fixture()
def installed(cluster: Any) -> Iterator[list[Path]]:
    """Spec files to delete (CRDs included) when the test ends, passed or not: the releases'
    CRDs are cluster-wide, and the next test installs them again under another KfDef."""
    specs: list[Path] = []
    yield specs
    for spec in specs:
        cli_run(cluster, "delete", "-f", str(spec), "--yes", "--delete-crds", "--delete-namespaces")


def run(cluster: Any, *args: str) -> tuple[int, Any, str]:
    code, out, err = cli_run(cluster, *args, "-o", "json")
    try:
        return code, json.loads(out), err
    except ValueError:
        return code, None, err


def platform_spec(path: Path, name: str, ns: str, release: str, trainer: str, **extra: Any) -> Path:
    """The fixture release's applications, a library application with a generated credential,
    and secrets given in the spec (a literal and an environment variable)."""
    write_spec(path, name, ns, release, trainer)
    data = yaml.safe_load(path.read_text())
    data["spec"]["secrets"] = [{"name": "token", "secretSource": {"literalSource": {"value": LITERAL}}},
                               {"name": "env-token", "secretSource": {"envSource": {"name": "KFT_TOKEN"}}}]
    pipeline = next(a for a in data["spec"]["applications"] if a["name"] == "pipeline")
    pipeline["params"].update({"token": {"secretRef": "token"}, "envToken": {"secretRef": "env-token"}})
    data["spec"]["applications"].append({"name": "monitoring", "dependsOn": ["platform-namespace"],
                                         "params": {"namespace": f"{ns}-mon", "kubeflowNamespace": ns}})
    data["spec"].update(extra)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def v2_archive(tmp_path: Path, ns: str) -> str:
    return str(release_archive(tmp_path, ns, "v2"))


def release_archive(folder: Path, ns: str, version: str) -> Path:
    """The fixture release ``release-<version>`` as ``folder/release-<n>.0.tar.gz``."""
    top = f"release-{version.removeprefix('v')}.0"
    tree = release_copy(REPOS / f"release-{version}", folder / version / top, ns)
    archive = folder / f"{top}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname=top)
    return archive


def stored_revisions(cluster: Any, kfdef: str) -> list[dict[str, Any]]:
    """The revision ConfigMaps as the API server holds them (read with the tests' own client)."""
    return [client.ApiClient().sanitize_for_serialization(cm) for cm in client.CoreV1Api(cluster.api)
            .list_namespaced_config_map("kfdeploy-system", label_selector=f"kfdeploy.io/revisions-of={kfdef}").items]


def stored_text(cm: dict[str, Any]) -> str:
    """A revision object as text, its compressed record opened."""
    record = gzip.decompress(base64.b64decode(cm["binaryData"]["record.json.gz"]))
    return json.dumps(cm) + record.decode(errors="replace")


def generated_values(cluster: Any, kfdef: str) -> list[str]:
    store = client.CoreV1Api(cluster.api).read_namespaced_secret(f"kfdeploy.{kfdef}.credentials", "kfdeploy-system")
    return [base64.b64decode(v).decode() for v in store.data.values()]


def deployments(cluster: Any, ns: str) -> dict[str, str]:
    return {d.metadata.name: d.spec.template.spec.containers[0].image
            for d in client.AppsV1Api(cluster.api).list_namespaced_deployment(ns).items}


def history(cluster: Any, spec: Path) -> list[dict[str, Any]]:
    code, data, err = run(cluster, "history", "-f", str(spec))
    assert code == 0 and data is not None, err
    revisions: list[dict[str, Any]] = data["revisions"]
    return revisions


def all_healthy(cluster: Any, spec: Path) -> dict[str, Any]:
    code, data, err = run(cluster, "status", "-f", str(spec))
    assert data is not None, err
    assert {c["name"]: c["health"] for c in data["components"]} == \
        {c["name"]: "Healthy" for c in data["components"]}, data
    return data


def test_upgrade_history_and_rollback(cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      installed: list[Path]) -> None:
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KFT_TOKEN", FROM_ENV)
    ns = f"rv-{uuid.uuid4().hex[:6]}"
    name = f"rev-{ns}"
    spec = tmp_path / "kfdef.yaml"
    v1 = str(release_copy(REPOS / "release-v1", tmp_path / "v1", ns))
    platform_spec(spec, name, ns, v1, "apps/trainer")
    installed.append(spec)
    code, _, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    v1_images = deployments(cluster, ns)
    core = client.CoreV1Api(cluster.api)
    pvc_uid = core.read_namespaced_persistent_volume_claim("minio-pvc", ns).metadata.uid
    generated = generated_values(cluster, name)
    assert generated  # monitoring's grafana password was generated

    platform_spec(spec, name, ns, v2_archive(tmp_path, ns), "apps/training/trainer")
    v2_text = spec.read_text()
    code, _, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    assert "metadata-writer" in deployments(cluster, ns)
    status = all_healthy(cluster, spec)
    assert status["revision"]["revision"] == 2 and status["revision"]["finished"] and status["revision"]["specMatches"]

    revisions = history(cluster, spec)
    assert [(r["revision"], r["outcome"]) for r in revisions] == [(1, "healthy"), (2, "healthy")]
    assert revisions[0]["changes"] == ["installed 6 application(s)"]
    assert any(c.startswith("repo release: ") and c.endswith("release-2.0.tar.gz") for c in revisions[1]["changes"])
    [moved] = [c for c in revisions[1]["changes"] if c.startswith("trainer: kustomize ")]
    assert moved.index("path=apps/trainer") < moved.index(" -> ") < moved.index("path=apps/training/trainer")
    assert revisions[1]["plan"]["create"] >= 1 and revisions[1]["plan"]["delete"] >= 2
    assert revisions[0]["applications"]["pipeline"] != revisions[1]["applications"]["pipeline"]
    assert revisions[0]["applications"]["monitoring"] == revisions[1]["applications"]["monitoring"]
    v1_digests = revisions[0]["applications"]

    code, out, err = cli_run(cluster, "history", "-f", str(spec), "--revision", "1")
    assert code == 0, err
    recorded_v1 = yaml.safe_load(out)
    assert recorded_v1["spec"]["repos"][0]["uri"] == v1 and LITERAL not in out
    assert "token" in err and "not recorded" in err  # the literal must be put back by hand

    listing = sorted(p.name for p in spec.parent.iterdir())
    code, _, err = run(cluster, "rollback", "-f", str(spec), "--yes", "--revision-history-limit", "2")
    assert code == 0, err
    assert "pipeline (Kubeflow Pipelines)" in err and "schema migration" in err  # warned
    assert f"history -f {spec} --revision 1 > {spec}" in err
    assert spec.read_text() == v2_text  # the spec file is the user's
    assert sorted(p.name for p in spec.parent.iterdir()) == listing  # and so is its folder
    assert deployments(cluster, ns) == v1_images  # v2's pruned, v1's back with v1's images
    assert core.read_namespaced_persistent_volume_claim("minio-pvc", ns).metadata.uid == pvc_uid
    assert generated_values(cluster, name) == generated  # never rotated

    revisions = history(cluster, spec)  # trimmed to 2; the rollback is itself a revision
    assert [(r["revision"], r["outcome"], r.get("rollbackTo")) for r in revisions] == \
        [(2, "healthy", None), (3, "healthy", 1)]
    assert revisions[1]["applications"] == v1_digests  # re-rendered to exactly what v1 rendered
    platform_spec(spec, name, ns, v1, "apps/trainer")
    status = all_healthy(cluster, spec)
    assert status["revision"]["revision"] == 3 and status["revision"]["specMatches"]
    code, plan, err = run(cluster, "plan", "-f", str(spec))
    assert code == 0 and not plan["changes"], plan

    secrets = [LITERAL, FROM_ENV, *generated]
    for cm in stored_revisions(cluster, name):
        text = stored_text(cm)
        assert not [s for s in secrets if s in text], cm["metadata"]["name"]



def add_stuck_application(spec: Path, ns: str) -> None:
    """An application that never becomes healthy (its pod fits no node): an apply waits on it."""
    folder = spec.parent / "stuck"
    folder.mkdir(exist_ok=True)
    (folder / "deployment.yaml").write_text(STUCK.replace("NS", ns))
    (folder / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    data = yaml.safe_load(spec.read_text())
    data["spec"]["applications"].append({"name": "stuck", "kustomize": {"path": "stuck"},
                                         "dependsOn": ["platform-namespace"]})
    spec.write_text(yaml.safe_dump(data, sort_keys=False))


def test_an_apply_killed_midway_shows_interrupted_and_rollback_converges(
        cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installed: list[Path]) -> None:
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    ns = f"rv-{uuid.uuid4().hex[:6]}"
    name = f"kill-{ns}"
    spec = tmp_path / "kfdef.yaml"
    write_spec(spec, name, ns, str(release_copy(REPOS / "release-v1", tmp_path / "v1", ns)), "apps/trainer")
    installed.append(spec)
    code, _, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    v1_text, v1_images = spec.read_text(), deployments(cluster, ns)

    add_stuck_application(spec, ns)
    killed_midway(cluster, tmp_path, ns, "apply", "-f", str(spec), "--yes", "--skip-preflight")

    revisions = history(cluster, spec)
    assert [(r["revision"], r["outcome"]) for r in revisions] == [(1, "healthy"), (2, "interrupted")]
    assert revisions[1]["changes"] == ["+ stuck"]
    code, data, _ = run(cluster, "status", "-f", str(spec))
    assert data["revision"]["revision"] == 2 and not data["revision"]["finished"]
    assert data["revision"]["outcome"] == "interrupted"

    code, _, err = run(cluster, "rollback", "-f", str(spec), "--yes")  # default: the last healthy, 1
    assert code == 0, err
    assert "schema migration" not in err  # nothing that migrates a database changed release
    assert deployments(cluster, ns) == v1_images  # the stuck application is pruned
    revisions = history(cluster, spec)
    assert [(r["revision"], r["outcome"], r.get("rollbackTo")) for r in revisions][-1] == (3, "healthy", 1)
    stuck_text = spec.read_text()

    # A rollback killed midway (back to the interrupted revision, whose application never becomes
    # healthy) leaves nothing beside the spec, shows as interrupted, and a rollback from it converges.
    listing = sorted(p.name for p in spec.parent.iterdir())
    killed_midway(cluster, tmp_path, ns, "rollback", "-f", str(spec), "--to", "2", "--yes", "--skip-preflight")
    assert sorted(p.name for p in spec.parent.iterdir()) == listing
    assert spec.read_text() == stuck_text
    assert [(r["revision"], r["outcome"], r.get("rollbackTo")) for r in history(cluster, spec)][-1] == \
        (4, "interrupted", 2)
    code, _, err = run(cluster, "rollback", "-f", str(spec), "--yes")  # the last healthy: 3
    assert code == 0, err
    assert deployments(cluster, ns) == v1_images
    assert sorted(p.name for p in spec.parent.iterdir()) == listing

    spec.write_text(v1_text)
    all_healthy(cluster, spec)
    code, plan, _ = run(cluster, "plan", "-f", str(spec))
    assert code == 0 and not plan["changes"], plan


def killed_midway(cluster: Any, tmp_path: Path, ns: str, *args: str) -> None:
    """Run ``kfdeploy ARGS`` until it has applied the stuck application, then SIGKILL it."""
    with open(tmp_path / "killed.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "kfdeploy", *args, "--kubeconfig", str(cluster.kubeconfig)],
                                stdout=log, stderr=log, cwd=REPO)
        try:
            eventually(lambda: "stuck" in deployments(cluster, ns) or proc.poll() is not None, bool,
                       "the command reaching the stuck application", timeout=180)
            assert proc.poll() is None, (tmp_path / "killed.log").read_text()
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait()


def test_a_rollback_across_an_immutable_change_needs_recreate(cluster: Any, tmp_path: Path,
                                                               installed: list[Path]) -> None:
    ns = f"rv-{uuid.uuid4().hex[:6]}"
    spec = tmp_path / "kfdef.yaml"
    installed.append(spec)
    assert cli_run(cluster, "apply", "-f", str(write_selector_spec(spec, ns, track="v1")), "--yes")[0] == 0
    code, _, err = cli_run(cluster, "apply", "-f", str(write_selector_spec(spec, ns, track="v2")), "--yes",
                           "--recreate")
    assert code == 0, err
    apps = client.AppsV1Api(cluster.api)

    code, _, err = cli_run(cluster, "rollback", "-f", str(spec), "--yes")
    assert code == EXIT_BAD_INPUT, err
    assert "--recreate" in err and "spec.selector" in err
    assert apps.read_namespaced_deployment("web", ns).spec.selector.match_labels["track"] == "v2"  # unchanged
    assert [r["outcome"] for r in history(cluster, spec)] == ["healthy", "healthy"]  # no revision: no change

    code, _, err = cli_run(cluster, "rollback", "-f", str(spec), "--yes", "--recreate")
    assert code == 0, err
    assert apps.read_namespaced_deployment("web", ns).spec.selector.match_labels["track"] == "v1"
    assert [(r["revision"], r.get("rollbackTo")) for r in history(cluster, spec)][-1] == (3, 1)


def test_revisions_of_a_2000_object_spec_stay_far_under_the_object_limit(cluster: Any, tmp_path: Path,
                                                                         installed: list[Path]) -> None:
    name = f"synth-{uuid.uuid4().hex[:6]}"
    subprocess.run([sys.executable, str(REPO / "bench" / "synth.py"), "--objects", "2000", "-o", str(tmp_path),
                    "--name", name], check=True, capture_output=True)
    for objects in tmp_path.glob("*/objects.json"):  # no pods: the test cluster's nodes hold fewer
        objs = json.loads(objects.read_text())
        for o in objs:
            if o["kind"] in ("Deployment", "StatefulSet"):
                o["spec"]["replicas"] = 0
        objects.write_text(json.dumps(objs))
    spec = tmp_path / "kfdef.yaml"
    installed.append(spec)
    code, data, err = run(cluster, "apply", "-f", str(spec), "--yes", "--timeout", "300")
    assert code == 0, err
    assert sum(a["created"] for a in data["applications"]) >= 2000  # and the platform's add-ons
    [cm] = stored_revisions(cluster, name)
    size = len(json.dumps(cm))
    print(f"revision object of a 2,000-object spec: {size} bytes")
    assert size < 64 * 1024  # the record holds the spec and digests, never the objects


def caches(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(folder / "repos"))
    monkeypatch.setenv("KFDEPLOY_RENDER_CACHE", str(folder / "render"))


def test_a_rollback_without_network_names_the_source_and_the_bundle_that_carries_it(
        cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, https_origin: Origin,
        installed: list[Path]) -> None:
    ns = f"rv-{uuid.uuid4().hex[:6]}"
    name = f"off-{ns}"
    spec = tmp_path / "spec" / "kfdef.yaml"
    spec.parent.mkdir()
    origin = https_origin
    v1, v2 = (f"{origin.url}/{release_archive(tmp_path / 'www', ns, v).name}" for v in ("v1", "v2"))
    caches(monkeypatch, tmp_path / "cache")
    write_spec(spec, name, ns, v1, "apps/trainer")
    installed.append(spec)
    code, _, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    v1_images = deployments(cluster, ns)
    write_spec(spec, name, ns, v2, "apps/training/trainer")
    code, _, err = run(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err

    caches(monkeypatch, tmp_path / "empty")  # a machine that never rendered revision 1, offline
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "1")  # as --offline does (it sets it for the process)
    listing = {p.name: p.read_bytes() for p in spec.parent.iterdir()}
    code, _, err = cli_run(cluster, "rollback", "-f", str(spec), "--yes")
    assert code == EXIT_BAD_INPUT, err
    copy = spec.parent / "revision-1.yaml"
    assert v1 in err and "offline" in err  # what is missing
    assert f"--revision 1 > {copy}" in err and f"vendor -f {copy} -o " in err and "--import" in err  # what carries it
    assert f"--revision 1 --lock > {copy.with_suffix('.lock')}" in err  # with the digests revision 1 rendered from
    assert {p.name: p.read_bytes() for p in spec.parent.iterdir()} == listing
    assert [r["outcome"] for r in history(cluster, spec)] == ["healthy", "healthy"]  # nothing changed

    # As the hint says: the revision written beside the spec, vendored where the network is, imported here.
    code, out, err = cli_run(cluster, "history", "-f", str(spec), "--revision", "1")
    assert code == 0, err
    copy.write_text(out)
    code, out, err = cli_run(cluster, "history", "-f", str(spec), "--revision", "1", "--lock")
    assert code == 0, err
    v1_digest = hashlib.sha256((tmp_path / "www" / v1.rsplit("/", 1)[1]).read_bytes()).hexdigest()
    assert v1 in out and v1_digest in out and v2.rsplit("/", 1)[1] not in out  # revision 1's pin, not the live one's
    copy.with_suffix(".lock").write_text(out)
    bundle = tmp_path / "revision-1.tar.gz"
    caches(monkeypatch, tmp_path / "online")
    monkeypatch.delenv("KFDEPLOY_OFFLINE")
    code, _, err = cli_invoke("vendor", "-f", str(copy), "-o", str(bundle))
    assert code == 0, err
    origin.stop()
    caches(monkeypatch, tmp_path / "empty")
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "1")
    code, _, err = cli_invoke("vendor", "-f", str(copy), "--import", str(bundle))
    assert code == 0, err
    code, _, err = run(cluster, "rollback", "-f", str(spec), "--yes")
    assert code == 0, err
    assert deployments(cluster, ns) == v1_images
    assert [(r["revision"], r["outcome"], r.get("rollbackTo")) for r in history(cluster, spec)][-1] == \
        (3, "healthy", 1)
