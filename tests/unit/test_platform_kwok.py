"""The kwok platform's pure parts: nodes from pools, storage, kwokctl config, failure messages."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from kfdeploy.errors import KfdeployError, PlatformError
from kfdeploy.platforms.kwok import node_pools
from kfdeploy.platforms.kwok_objects import node_manifests, stale_nodes, storage_class
from kfdeploy.platforms.kwokctl import (
    BINARY_OPTIONS,
    PORT_OPTIONS,
    SERVICE_CIDR,
    clear_stale_pid_files,
    component_ports,
    explain_failure,
    kwokctl_config,
    pick_ports,
    port_busy,
)
from kfdeploy.spec import KfDef, parse_spec

GPU_POOL = {"name": "gpu", "count": 1, "cpu": "8", "memory": "61Gi", "gpus": 4,
            "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
            "labels": {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}}


def kwok_spec(pools: list[dict[str, Any]] | None) -> KfDef:
    platform: dict[str, Any] = {"kind": "kwok"}
    if pools is not None:
        platform["kwok"] = {"nodePools": pools}
    data = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef",
            "metadata": {"name": "test"}, "spec": {"platform": platform}}
    return parse_spec(data, "kfdef.yaml", Path("."))


def nodes_of(pools: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {n["metadata"]["name"]: n for n in node_manifests(node_pools(kwok_spec(pools)))}


@pytest.mark.parametrize(("pools", "names"), [
    (None, ["cpu-0", "cpu-1"]),
    ([], ["cpu-0", "cpu-1"]),
    ([{"name": "cpu", "count": 2}, GPU_POOL], ["cpu-0", "cpu-1", "gpu-0"]),
    ([{"name": "idle", "count": 0}], []),
], ids=["block-absent-defaults", "empty-list-defaults", "cpu-and-gpu", "zero-count"])
def test_node_names(pools: list[dict[str, Any]] | None, names: list[str]) -> None:
    assert list(nodes_of(pools)) == names


def test_default_nodes_are_16_cpu_64gi() -> None:
    node = nodes_of(None)["cpu-0"]
    assert node["status"]["capacity"] == {"cpu": "16", "memory": "64Gi", "pods": "110"}
    assert node["spec"] == {}


def test_gpu_node_capacity_taints_labels() -> None:
    node = nodes_of([GPU_POOL])["gpu-0"]
    status, meta = node["status"], node["metadata"]
    assert status["capacity"] == {"cpu": "8", "memory": "61Gi", "pods": "110",
                                  "nvidia.com/gpu": "4"}
    assert status["allocatable"] == status["capacity"]
    assert node["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert meta["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert {k: meta["labels"][k] for k in (
        "kfdeploy.io/node-pool", "node.kubernetes.io/instance-type", "kubernetes.io/hostname",
        "nvidia.com/gpu.present", "cloud.google.com/gke-accelerator")} == {
        "kfdeploy.io/node-pool": "gpu", "node.kubernetes.io/instance-type": "kwok-8cpu-61Gi-4gpu",
        "kubernetes.io/hostname": "gpu-0", "nvidia.com/gpu.present": "true",
        "cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
    assert "conditions" not in status, "kwok initializes only Nodes that are not Ready yet"


def test_spec_labels_override_defaults_and_empty_taint_value_is_omitted() -> None:
    pool = {"name": "sys", "labels": {"node.kubernetes.io/instance-type": "e2-standard-8"},
            "taints": [{"key": "dedicated", "effect": "NoExecute"}]}
    node = nodes_of([pool])["sys-0"]
    assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "e2-standard-8"
    assert node["spec"]["taints"] == [{"key": "dedicated", "effect": "NoExecute"}]
    assert "nvidia.com/gpu" not in node["status"]["capacity"]


@pytest.mark.parametrize(("existing", "wanted", "stale"), [
    (["cpu-0", "cpu-1", "gpu-0"], ["cpu-0", "cpu-1"], ["gpu-0"]),
    (["cpu-0", "cpu-1", "cpu-2"], ["cpu-0"], ["cpu-1", "cpu-2"]),
    (["cpu-0"], ["cpu-0", "cpu-1"], []),
], ids=["pool-removed", "pool-shrunk", "pool-grown"])
def test_stale_nodes(existing: list[str], wanted: list[str], stale: list[str]) -> None:
    assert stale_nodes(existing, wanted) == stale


def test_storage_class_is_default_and_binds_immediately() -> None:
    sc = storage_class()
    assert sc["metadata"] == {"name": "standard", "annotations": {
        "storageclass.kubernetes.io/is-default-class": "true"}}
    assert (sc["provisioner"], sc["volumeBindingMode"], sc["reclaimPolicy"]) == (
        "kubernetes.io/host-path", "Immediate", "Delete")


def test_kwokctl_config_names_every_binary_and_enables_hostpath_provisioning() -> None:
    binaries = {tool: f"/opt/bin/{tool}" for tool in BINARY_OPTIONS}
    versions = {"KUBE_VERSION": "v1.36.3", "ETCD_VERSION": "v3.6.16", "KWOK_VERSION": "v0.8.0"}
    config = kwokctl_config(binaries, versions)
    options = config["options"]
    assert options["kubeApiserverBinary"] == "/opt/bin/kube-apiserver"
    assert options["kwokControllerBinary"] == "/opt/bin/kwok"
    assert options["etcdBinary"] == "/opt/bin/etcd"
    assert (options["runtime"], options["kubeVersion"], options["etcdVersion"]) == (
        "binary", "v1.36.3", "3.6.16")
    assert not any("prometheus" in k.lower() or "dashboard" in k.lower() for k in options)
    args = {p["name"]: {a["key"]: a["value"] for a in p["extraArgs"]}
            for p in config["componentsPatches"]}
    assert args["kube-controller-manager"]["enable-hostpath-provisioner"] == "true"
    assert (args["kube-apiserver"]["service-cluster-ip-range"]
            == args["kube-controller-manager"]["service-cluster-ip-range"])


def test_port_in_use_names_the_port_and_the_way_out() -> None:
    output = ("Starting cluster\nError: start kube-apiserver: listen tcp 127.0.0.1:32766: "
              "bind: address already in use\n")
    err = explain_failure(["kwokctl", "start", "cluster"], "demo", output)
    assert err.message == ("kwokctl start cluster --name demo failed: port 32766 is already "
                           "in use by another process")
    assert "ss -ltnp 'sport = :32766'" in (err.hint or "")


def test_other_failures_show_the_output_tail_and_the_logs_command() -> None:
    output = "\n".join(f"line {i}" for i in range(40))
    err = explain_failure(["kwokctl", "create", "cluster"], "demo", output)
    assert err.message.splitlines()[0] == "kwokctl create cluster --name demo failed:"
    assert err.message.splitlines()[1:] == [f"line {i}" for i in range(25, 40)]
    assert "kwokctl logs <component> --name demo" in (err.hint or "")


def test_component_ports_from_saved_config() -> None:
    config = {"kind": "KwokctlConfiguration", "components": [
        {"name": "etcd", "ports": [{"name": "peer-http", "port": 32766},
                                   {"name": "http", "port": 32765}]},
        {"name": "kube-apiserver", "ports": [{"port": 32764}]},
        {"name": "kube-scheduler"}]}
    assert component_ports(config) == [("etcd", 32766), ("etcd", 32765),
                                       ("kube-apiserver", 32764)]


def test_port_busy_sees_a_listener() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert port_busy(port)
    assert not port_busy(port)


def test_stale_pid_files_are_cleared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kwokctl trusts any live pid; only a process running the cluster's own binary counts."""
    monkeypatch.setenv("KWOK_WORKDIR", str(tmp_path))
    cluster = tmp_path / "clusters" / "demo"
    (cluster / "pids").mkdir(parents=True)
    (cluster / "bin").mkdir()
    (cluster / "bin" / "etcd").symlink_to(shutil.which("sleep") or "/bin/sleep")
    running = subprocess.Popen([str(cluster / "bin" / "etcd"), "30"])
    # until the child has exec'd, its command line is still this interpreter's
    for _ in range(500):
        if f"{cluster}/bin/etcd" in Path(f"/proc/{running.pid}/cmdline").read_bytes().decode(errors="replace"):
            break
        time.sleep(0.01)
    try:
        (cluster / "pids" / "etcd.pid").write_text(str(running.pid))
        (cluster / "pids" / "kube-apiserver.pid").write_text(str(os.getpid()))
        (cluster / "pids" / "kube-scheduler.pid").write_text("999999999")
        assert clear_stale_pid_files("demo") == ["kube-apiserver", "kube-scheduler"]
        assert [p.name for p in (cluster / "pids").iterdir()] == ["etcd.pid"]
    finally:
        running.kill()
        running.wait()


@pytest.mark.parametrize(("start", "taken", "expected"), [
    (25000, set(), [25000, 25001, 25002]),
    (25000, {25001}, [25000, 25002, 25003]),
    (31999, set(), [31999, 20000, 20001]),
], ids=["consecutive", "skips-taken", "wraps-around"])
def test_pick_ports(start: int, taken: set[int], expected: list[int]) -> None:
    assert pick_ports(3, start, lambda p: p not in taken) == expected


def test_pick_ports_says_when_none_are_free() -> None:
    with pytest.raises(PlatformError, match="no 2 free TCP ports in 20000-31999"):
        pick_ports(2, 20000, lambda p: False)


def test_kwokctl_config_takes_the_picked_ports() -> None:
    ports = dict(zip(PORT_OPTIONS, range(25000, 25006), strict=True))
    options = kwokctl_config({}, {}, ports)["options"]
    assert {k: options[k] for k in PORT_OPTIONS} == ports


def test_apiserver_args_turn_request_limits_on_and_reach_the_apiserver() -> None:
    plain = kwokctl_config({}, {})
    limited = kwokctl_config({}, {}, apiserver_args={"max-requests-inflight": "4"})
    assert plain["options"]["disableQPSLimits"] is True
    assert limited["options"]["disableQPSLimits"] is False
    args = {p["name"]: [(a["key"], a["value"]) for a in p["extraArgs"]] for p in limited["componentsPatches"]}
    assert ("max-requests-inflight", "4") in args["kube-apiserver"]
    assert ("service-cluster-ip-range", SERVICE_CIDR) in args["kube-apiserver"]


@pytest.mark.parametrize("flag", ["--max-requests-inflight", "Max", "a b", ""])
def test_apiserver_args_are_plain_flag_names(flag: str) -> None:
    data = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "test"},
            "spec": {"platform": {"kind": "kwok", "kwok": {"apiServerArgs": {flag: "4"}}}}}
    with pytest.raises(KfdeployError, match="apiServerArgs"):
        parse_spec(data, "kfdef.yaml", Path("."))
