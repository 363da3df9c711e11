"""The product's main job on the real local control plane: every library object is accepted by
the API server, the default platform applies healthy, re-applies as a no-op, prunes a removed
application (keeping its data) and deletes cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kfdeploy.kube.client import Cluster, KubeApiError
from kfdeploy.labels import APPLICATION
from kfdeploy.render import render
from kfdeploy.spec import load_spec

from .conftest import cli_invoke, cli_json

REPO = Path(__file__).resolve().parents[2]


def spec_file(tmp_path: Path, name: str, drop: tuple[str, ...] = (), extra: list[dict[str, Any]] = ()) -> Path:
    """The repository's kfdef.yaml under another name (its own inventory), optionally edited."""
    data = yaml.safe_load((REPO / "kfdef.yaml").read_text())
    data["metadata"]["name"] = name
    apps = [a for a in data["spec"]["applications"] if a["name"] not in drop]
    data["spec"]["applications"] = apps + list(extra)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


kfdeploy = cli_json


def test_every_library_object_is_accepted_by_the_api_server(cluster: Any, tmp_path: Path):
    model_servers = [{"name": "tf-serving", "params": {"modelName": "resnet", "modelBasePath": "gs://m/resnet"}},
                     {"name": "triton", "params": {"modelName": "bert", "modelBasePath": "s3://m/bert", "gpus": 1}}]
    spec = load_spec(spec_file(tmp_path, "dryrun", extra=model_servers))
    objects = render(spec).objects
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    # Namespaces and CRDs for real (dry-run objects need them), the rest as a server-side dry-run.
    for obj in (o for o in objects if o["kind"] in ("Namespace", "CustomResourceDefinition")):
        kube.apply(obj)
    import time

    from kfdeploy.kube.wait import wait_established
    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    assert wait_established(kube, crds, time.monotonic() + 60) == []
    rejected = []
    for obj in objects:
        try:
            kube.apply(obj, dry_run=True)
        except KubeApiError as e:
            rejected.append(f"{obj['kind']}/{obj['metadata']['name']}: {e.message}")
    assert len({o["metadata"]["labels"][APPLICATION] for o in objects}) >= 17
    assert rejected == []


def test_default_platform_lifecycle(cluster: Any, tmp_path: Path):
    full = spec_file(tmp_path, "lifecycle")
    code, out, err = kfdeploy(cluster, "apply", "-f", str(full), "--yes")
    assert code == 0, err
    assert {a["outcome"] for a in out["applications"]} == {"applied"}
    assert len(out["applications"]) >= 15
    first_requests = out["requests"]

    code, status, _ = kfdeploy(cluster, "status", "-f", str(full))
    assert code == 0
    assert {c["health"] for c in status["components"]} == {"Healthy"}
    assert sum(c["objects"] for c in status["components"]) >= 300

    # A second apply with no edits changes nothing, with a fraction of the requests.
    code, out, _ = kfdeploy(cluster, "apply", "-f", str(full), "--yes")
    assert code == 0
    assert {a["outcome"] for a in out["applications"]} == {"unchanged"}
    assert out["requests"] < first_requests / 5
    code, plan, _ = kfdeploy(cluster, "plan", "-f", str(full))
    assert code == 0 and plan["changes"] is False

    # Remove an application: plan lists its objects (exit 2), apply prunes them, data stays.
    without = spec_file(tmp_path, "lifecycle", drop=("katib",))
    code, plan, _ = kfdeploy(cluster, "plan", "-f", str(without))
    assert code == 2
    katib = next(a for a in plan["applications"] if a["name"] == "katib")
    actions = {c["object"]: c["action"] for c in katib["changes"]}
    assert actions["Deployment/kubeflow/katib-controller"] == "delete"
    assert actions["PersistentVolumeClaim/kubeflow/katib-mysql"] == "keep"
    code, out, _ = kfdeploy(cluster, "apply", "-f", str(without), "--yes")
    assert code == 0
    pruned = next(a for a in out["applications"] if a["name"] == "katib")
    assert pruned["outcome"] == "pruned" and pruned["deleted"] > 20
    assert [k["object"] for k in pruned["kept"]] == ["PersistentVolumeClaim/kubeflow/katib-mysql"]
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    assert kube.get({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": "katib-controller", "namespace": "kubeflow"}}) is None
    assert kube.get({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": "katib-mysql", "namespace": "kubeflow"}}) is not None
    code, plan, _ = kfdeploy(cluster, "plan", "-f", str(without))
    assert code == 0

    # Delete removes everything it owns (data kept unless asked) and its inventory.
    code, out, err = kfdeploy(cluster, "delete", "-f", str(without), "--yes", "--delete-pvcs")
    assert code == 0, err
    assert out["deleted"] > 250
    code, status, _ = kfdeploy(cluster, "status", "-f", str(without))
    assert code == 1
    assert {c["health"] for c in status["components"]} == {"Missing"}
    assert kube.list("v1", "ConfigMap", namespace="kfdeploy-system",
                     label_selector="kfdeploy.io/inventory=lifecycle") == []


@pytest.mark.parametrize("args,code", [(("plan",), 1), (("status",), 1)], ids=["plan", "status"])
def test_unreachable_cluster_is_a_clear_error(tmp_path: Path, args: tuple[str, ...], code: int):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "nowhere",
        "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:9"}}],
        "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}]}))
    exit_code, out, err = cli_invoke(*args, "-f", str(spec_file(tmp_path, "unreachable")),
                                     "--kubeconfig", str(kubeconfig))
    assert exit_code == code
    assert "cannot reach the cluster" in err and "Traceback" not in out + err


def test_an_apply_killed_midway_converges_when_re_run(cluster: Any, tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    spec = spec_file(tmp_path, "killed")
    kube = Cluster.connect(cluster.kubeconfig, cluster.context)
    cmd = [sys.executable, "-m", "kfdeploy", "apply", "-f", str(spec), "--yes",
           "--kubeconfig", str(cluster.kubeconfig)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Kill it once a few applications are recorded and others are still in flight.
        for _ in range(600):
            records = kube.list("v1", "ConfigMap", namespace="kfdeploy-system",
                                label_selector="kfdeploy.io/inventory=killed") if kube.get(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kfdeploy-system"}}) else []
            if len(records) >= 3 or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "apply finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()

    code, out, err = kfdeploy(cluster, "apply", "-f", str(spec), "--yes")
    assert code == 0, err
    assert "unchanged" in {a["outcome"] for a in out["applications"]}
    code, plan, _ = kfdeploy(cluster, "plan", "-f", str(spec))
    assert code == 0, plan
    code, status, _ = kfdeploy(cluster, "status", "-f", str(spec))
    assert {c["health"] for c in status["components"]} == {"Healthy"}
    code, out, err = kfdeploy(cluster, "delete", "-f", str(spec), "--yes", "--delete-pvcs")
    assert code == 0, err
