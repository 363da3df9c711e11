"""The gke platform against a local fake of the GKE REST API: what it sends, what it writes,
that re-runs change nothing, how it reconciles, and how each API failure reads."""

# ruff: noqa: F401, F811 (pytest fixtures are imported from fakes.gke_testing, used as parameters)
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.gke_server import CA_DATA, ENDPOINT_IP, FakeGke
from fakes.gke_testing import CLUSTER, CPU, GPU, PARENT, Clock, clock, fake, gke_spec, platform, run
from google.auth.credentials import AnonymousCredentials
from google.cloud import container_v1 as gke
from kubernetes import config as kube_config

from kfdeploy.errors import PlatformError
from kfdeploy.platforms.gke import GkePlatform


def created_pools(fake: FakeGke) -> dict[str, dict[str, Any]]:
    body = fake.calls("create_cluster")[0].body
    return {p["name"]: p for p in body["cluster"]["nodePools"]}


# -- create ----------------------------------------------------------------------------------

def test_create_sends_the_pools_of_the_spec(platform: GkePlatform, fake: FakeGke,
                                            tmp_path: Path) -> None:
    info, _ = run(platform, gke_spec(tmp_path, [CPU, GPU], version="1.32"))
    [call] = fake.calls("create_cluster")
    assert call.path == f"/v1/{PARENT}/clusters"
    assert call.body["cluster"]["name"] == "demo"
    assert call.body["cluster"]["initialClusterVersion"] == "1.32"
    assert call.body["cluster"]["resourceLabels"] == {"managed-by": "kfdeploy"}
    pools = created_pools(fake)
    assert pools["cpu"]["config"]["machineType"] == "e2-standard-8"
    assert pools["cpu"]["autoscaling"] == {"enabled": True, "minNodeCount": 1, "maxNodeCount": 5}
    assert pools["cpu"]["initialNodeCount"] == 1
    gpu = pools["gpu"]
    assert gpu["config"]["accelerators"] == [{
        "acceleratorType": "nvidia-tesla-t4", "acceleratorCount": "2",
        "gpuDriverInstallationConfig": {
            "gpuDriverVersion": gke.GPUDriverInstallationConfig.GPUDriverVersion.LATEST}}]
    assert gpu["config"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present",
                                        "effect": gke.NodeTaint.Effect.NO_SCHEDULE}]
    assert gpu["config"]["spot"] is True
    assert gpu["config"]["diskSizeGb"] == 200
    assert gpu["config"]["labels"] == {"pool": "gpu"}
    assert gpu["autoscaling"] == {"enabled": True, "maxNodeCount": 4}  # min 0 is the default
    assert "initialNodeCount" not in gpu
    assert (info.created, info.nodes, info.context) == (True, 1, "gke_proj-1_us-central1-a_demo")


@pytest.mark.parametrize(("driver", "effect", "want_driver", "want_effect"), [
    ("default", "NoSchedule", "DEFAULT", "NO_SCHEDULE"),
    ("latest", "PreferNoSchedule", "LATEST", "PREFER_NO_SCHEDULE"),
    ("disabled", "NoExecute", "INSTALLATION_DISABLED", "NO_EXECUTE"),
], ids=["default-noschedule", "latest-prefernoschedule", "disabled-noexecute"])
def test_driver_version_and_taint_effect_names(platform: GkePlatform, fake: FakeGke,
                                               tmp_path: Path, driver: str, effect: str,
                                               want_driver: str, want_effect: str) -> None:
    pool = {"name": "gpu", "accelerators": [{"type": "nvidia-l4", "driverVersion": driver}],
            "taints": [{"key": "k", "effect": effect}]}
    run(platform, gke_spec(tmp_path, [pool]))
    config = created_pools(fake)["gpu"]["config"]
    driver_enum = gke.GPUDriverInstallationConfig.GPUDriverVersion
    assert config["accelerators"][0]["gpuDriverInstallationConfig"]["gpuDriverVersion"] == \
        getattr(driver_enum, want_driver)
    assert config["taints"][0]["effect"] == getattr(gke.NodeTaint.Effect, want_effect)


@pytest.mark.parametrize(("mins", "expected"), [
    ([1, 0], [1, None]), ([0, 0], [1, None]), ([0, 2], [None, 2]), ([3], [3]),
], ids=["first-has-min", "all-zero-first-gets-one", "second-has-min", "single"])
def test_initial_node_counts(platform: GkePlatform, fake: FakeGke, tmp_path: Path,
                             mins: list[int], expected: list[int | None]) -> None:
    pools = [{"name": f"p{i}", "autoscaling": {"min": m, "max": 5}} for i, m in enumerate(mins)]
    run(platform, gke_spec(tmp_path, pools))
    sent = fake.calls("create_cluster")[0].body["cluster"]["nodePools"]
    assert [p.get("initialNodeCount") for p in sent] == expected


def test_empty_node_pools_use_the_platform_defaults(platform: GkePlatform, fake: FakeGke,
                                                    tmp_path: Path) -> None:
    defaults = yaml.safe_load((Path(__file__).parents[2] / "platforms" / "gke.yaml").read_text())
    run(platform, gke_spec(tmp_path, []))
    cluster = fake.calls("create_cluster")[0].body["cluster"]
    assert cluster["initialClusterVersion"] == defaults["kubernetesVersion"]
    assert [(p["name"], p["config"]["machineType"]) for p in cluster["nodePools"]] == \
        [(p["name"], p["machineType"]) for p in defaults["defaults"]["nodePools"]]


def test_progress_lines_count_the_operation_time(platform: GkePlatform, fake: FakeGke,
                                                 tmp_path: Path) -> None:
    fake.polls_to_finish = 3
    _, lines = run(platform, gke_spec(tmp_path, [CPU]))
    assert lines[0].startswith("creating GKE cluster demo in us-central1-a (project proj-1, "
                               "version 1.33, node pools: cpu (e2-standard-8))")
    assert lines[1:5] == ["creating cluster demo ... 0s", "creating cluster demo ... 10s",
                          "creating cluster demo ... 20s", "creating cluster demo: done"]


def test_operation_that_never_finishes_times_out(fake: FakeGke, tmp_path: Path,
                                                 clock: Clock) -> None:
    fake.polls_to_finish = 1000
    slow = GkePlatform(AnonymousCredentials, kube_dir=tmp_path, poll_interval=900,
                       sleep=clock.sleep, clock=lambda: clock.now)
    with pytest.raises(PlatformError) as err:
        slow.ensure_cluster(gke_spec(tmp_path, [CPU]), lambda _: None)
    assert "creating cluster demo: operation operation-1 still RUNNING after 45m" in err.value.message
    assert "gcloud container operations describe operation-1" in (err.value.hint or "")


def test_autoscaling_max_zero_names_the_field(platform: GkePlatform, fake: FakeGke,
                                              tmp_path: Path) -> None:
    spec = gke_spec(tmp_path, [CPU, {"name": "gpu", "autoscaling": {"min": 0, "max": 0}}])
    with pytest.raises(PlatformError, match=r"spec\.platform\.gke\.cluster\.nodePools\[1\]"
                                            r"\.autoscaling\.max is 0"):
        run(platform, spec)
    assert fake.requests == []


# -- reuse and reconcile ---------------------------------------------------------------------

def test_second_run_reuses_the_cluster_without_changes(platform: GkePlatform, fake: FakeGke,
                                                       tmp_path: Path) -> None:
    spec = gke_spec(tmp_path, [CPU, GPU])
    run(platform, spec)
    before = len(fake.requests)
    info, lines = run(platform, spec)
    methods = {r.method for r in fake.requests[before:]}
    assert methods == {"get_cluster"}
    assert info.created is False
    assert lines[0] == "reusing GKE cluster demo in us-central1-a (RUNNING, version 1.33.5-gke.1200)"
    assert "node pools match the spec" in lines


def test_reconcile_adds_pools_updates_autoscaling_and_keeps_extra_pools(
        platform: GkePlatform, fake: FakeGke, tmp_path: Path) -> None:
    run(platform, gke_spec(tmp_path, [CPU]))
    fake.clusters[CLUSTER]["nodePools"].append({"name": "legacy", "config": {}, "status": "RUNNING"})
    wider = {**CPU, "autoscaling": {"min": 2, "max": 8}}
    _, lines = run(platform, gke_spec(tmp_path, [wider, GPU]))
    [add] = fake.calls("create_node_pool")
    assert add.path == f"/v1/{CLUSTER}/nodePools"
    assert add.body["nodePool"]["name"] == "gpu"
    assert add.body["nodePool"]["config"]["accelerators"][0]["acceleratorType"] == "nvidia-tesla-t4"
    [scale] = fake.calls("set_node_pool_autoscaling")
    assert scale.path == f"/v1/{CLUSTER}/nodePools/cpu:setAutoscaling"
    assert scale.body["autoscaling"] == {"enabled": True, "minNodeCount": 2, "maxNodeCount": 8}
    assert not fake.calls("delete_cluster") and len(fake.calls("create_cluster")) == 1
    assert [p["name"] for p in fake.clusters[CLUSTER]["nodePools"]] == ["cpu", "legacy", "gpu"]
    assert "creating node pool gpu (1/1): done" in lines
    assert "setting autoscaling of node pool cpu to 2..8 nodes: done" in lines
    assert any("node pool legacy is in the cluster but not in the spec" in line for line in lines)


def test_settings_fixed_at_creation_are_reported_not_changed(platform: GkePlatform,
                                                             fake: FakeGke, tmp_path: Path) -> None:
    run(platform, gke_spec(tmp_path, [GPU]))
    changed = {**GPU, "machineType": "n1-standard-16",
               "accelerators": [{"type": "nvidia-l4", "count": 1}]}
    _, lines = run(platform, gke_spec(tmp_path, [changed]))
    notes = [line for line in lines if line.startswith("note: node pool gpu")]
    assert notes == [
        "note: node pool gpu: machineType is n1-standard-8 in the cluster but n1-standard-16 in "
        "the spec; GKE cannot change it in place, so kfdeploy leaves the pool as it is "
        "(recreate the pool to change it)",
        "note: node pool gpu: accelerators is 2x nvidia-tesla-t4 in the cluster but 1x nvidia-l4 "
        "in the spec; GKE cannot change it in place, so kfdeploy leaves the pool as it is "
        "(recreate the pool to change it)"]
    assert not fake.calls("create_node_pool") and not fake.calls("set_node_pool_autoscaling")


@pytest.mark.parametrize(("status", "expected"), [
    ("STOPPING", "GKE cluster demo is being deleted"),
    ("ERROR", "GKE cluster demo is in state ERROR: broken"),
], ids=["stopping", "error"])
def test_unusable_existing_cluster_is_refused(platform: GkePlatform, fake: FakeGke,
                                              tmp_path: Path, status: str, expected: str) -> None:
    run(platform, gke_spec(tmp_path, [CPU]))
    fake.clusters[CLUSTER].update(status=status, statusMessage="broken")
    with pytest.raises(PlatformError, match=expected):
        run(platform, gke_spec(tmp_path, [CPU]))


def test_provisioning_cluster_is_waited_for(platform: GkePlatform, fake: FakeGke,
                                            tmp_path: Path) -> None:
    run(platform, gke_spec(tmp_path, [CPU]))
    fake.hold_status(CLUSTER, "RECONCILING", reads=2)
    _, lines = run(platform, gke_spec(tmp_path, [CPU]))
    assert lines[:3] == ["cluster demo is RECONCILING; waiting ... 0s",
                         "cluster demo is RECONCILING; waiting ... 10s",
                         "reusing GKE cluster demo in us-central1-a (RUNNING, version 1.33.5-gke.1200)"]


# -- kubeconfig and delete -------------------------------------------------------------------

def test_kubeconfig_reaches_the_endpoint_with_the_auth_plugin(platform: GkePlatform,
                                                              fake: FakeGke, tmp_path: Path) -> None:
    info, _ = run(platform, gke_spec(tmp_path, [CPU]))
    assert info.kubeconfig == tmp_path / "kube" / "kfdeploy-demo.yaml"
    assert platform.kubeconfig(gke_spec(tmp_path, [CPU])) == info.kubeconfig
    assert info.kubeconfig.stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load(info.kubeconfig.read_text())
    name = "gke_proj-1_us-central1-a_demo"
    assert config["current-context"] == name
    assert config["clusters"] == [{"name": name, "cluster": {
        "server": f"https://{ENDPOINT_IP}", "certificate-authority-data": CA_DATA}}]
    assert config["contexts"] == [{"name": name, "context": {"cluster": name, "user": name}}]
    [user] = config["users"]
    exec_ = user["user"]["exec"]
    assert (exec_["command"], exec_["apiVersion"], exec_["provideClusterInfo"]) == \
        ("gke-gcloud-auth-plugin", "client.authentication.k8s.io/v1beta1", True)
    assert "gcloud components install gke-gcloud-auth-plugin" in exec_["installHint"]
    contexts, active = kube_config.list_kube_config_contexts(str(info.kubeconfig))
    assert active["name"] == name and [c["name"] for c in contexts] == [name]


def test_missing_auth_plugin_is_a_warning_with_the_install_command(fake: FakeGke,
                                                                   tmp_path: Path) -> None:
    bare = GkePlatform(AnonymousCredentials, kube_dir=tmp_path, poll_interval=0,
                       sleep=lambda _: None, which=lambda _: None)
    _, lines = run(bare, gke_spec(tmp_path, [CPU]))
    assert lines[-1].startswith("warning: gke-gcloud-auth-plugin is not on PATH")
    assert "gcloud components install gke-gcloud-auth-plugin" in lines[-1]


def test_kubeconfig_of_a_missing_cluster_says_create_it(platform: GkePlatform, fake: FakeGke,
                                                        tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="GKE cluster demo does not exist in project proj-1, "
                                            "location us-central1-a") as err:
        platform.kubeconfig(gke_spec(tmp_path, [CPU]))
    assert err.value.hint == "create it first: `kfdeploy cluster create`"


def test_delete_removes_cluster_and_kubeconfig(platform: GkePlatform, fake: FakeGke,
                                               tmp_path: Path) -> None:
    spec = gke_spec(tmp_path, [CPU])
    info, _ = run(platform, spec)
    platform.delete_cluster(spec)
    [call] = fake.calls("delete_cluster")
    assert call.path == f"/v1/{CLUSTER}"
    assert CLUSTER not in fake.clusters
    assert not info.kubeconfig.exists()
    assert platform.describe(spec)["exists"] is False


def test_deleting_a_missing_cluster_is_not_an_error(platform: GkePlatform, fake: FakeGke,
                                                    tmp_path: Path) -> None:
    platform.delete_cluster(gke_spec(tmp_path, [CPU]))
    assert [r.method for r in fake.requests] == ["delete_cluster"]


def test_describe_reports_state_and_pools(platform: GkePlatform, fake: FakeGke,
                                          tmp_path: Path) -> None:
    spec = gke_spec(tmp_path, [CPU, GPU])
    run(platform, spec)
    data = platform.describe(spec)
    assert {k: data[k] for k in ("exists", "status", "version", "endpoint", "nodes")} == \
        {"exists": True, "status": "RUNNING", "version": "1.33.5-gke.1200",
         "endpoint": ENDPOINT_IP, "nodes": 1}
    assert data["nodePools"][1] == {
        "name": "gpu", "machineType": "n1-standard-8", "status": "RUNNING",
        "autoscaling": {"enabled": True, "min": 0, "max": 4},
        "accelerators": [{"type": "nvidia-tesla-t4", "count": 2}]}


# -- through the CLI (get_platform is the lead's to wire; patched here) ----------------------

def test_cli_cluster_verbs_with_the_gke_platform(platform: GkePlatform, fake: FakeGke,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from kfdeploy.cli import cli
    from kfdeploy.workflow import cluster_verbs
    spec_file = tmp_path / "kfdef.yaml"
    spec_file.write_text(
        "apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nmetadata: {name: demo}\n"
        "spec:\n  platform:\n    kind: gke\n"
        "    gke: {project: proj-1, location: us-central1-a}\n")
    monkeypatch.setattr(cluster_verbs, "get_platform", lambda kind: platform)
    run(platform, gke_spec(tmp_path, [CPU]))

    def cli_run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, [*args, "-f", str(spec_file)])
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = cli_run("cluster", "kubeconfig")
    assert code == 0 and f"server: https://{ENDPOINT_IP}" in out
    fake.fail("get_cluster", 403, "PERMISSION_DENIED", "Required container.clusters.get.")
    code, _, err = cli_run("cluster", "kubeconfig")
    assert code == 1 and "permission denied while looking up GKE cluster demo" in err
    assert "Traceback" not in err
    code, out, _ = cli_run("cluster", "delete")
    assert (code, out.strip()) == (0, "cluster demo deleted")
    assert CLUSTER not in fake.clusters
