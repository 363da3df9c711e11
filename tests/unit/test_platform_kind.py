"""The kind platform against a stub ``kind`` (and ``docker``) first on PATH that records its calls."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.local_cli import USER_KUBECONFIG, StubCli, install_stub, platform_spec

from kfdeploy.errors import PlatformError, ToolMissingError
from kfdeploy.platforms.kind import KindPlatform, image_version, kind_config, progress_line
from kfdeploy.spec import KfDef

DEFAULT_IMAGE = "kindest/node:v1.33.1"


class FakeKind(StubCli):
    def creates(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if r["argv"][:2] == ["create", "cluster"]]

    def clusters(self) -> list[str]:
        return sorted(json.loads(self.state.read_text())["clusters"]) if self.state.exists() else []


@pytest.fixture()
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeKind:
    """The kind and docker stubs first on PATH; the library's platforms/kind.yaml pins DEFAULT_IMAGE."""
    stub = install_stub(tmp_path, monkeypatch, "kind",
                        f"kubernetesVersion: '1.33'\ndefaults: {{nodeImage: '{DEFAULT_IMAGE}'}}\n",
                        unset=("KFDEPLOY_KIND_BINARY", "KFDEPLOY_DOCKER_BINARY", "KFDEPLOY_KUBECONFIG_DIR",
                               "FAKE_KIND_FAIL", "FAKE_DOCKER_RUNTIME", "FAKE_DOCKER_STDERR", "FAKE_KIND_SLEEP"))
    return FakeKind(**vars(stub))


def kind_spec(block: dict[str, Any] | None = None, name: str = "kf") -> KfDef:
    return platform_spec("kind", "kindCluster", block, name)


def create(spec: KfDef) -> tuple[Any, list[str]]:
    lines: list[str] = []
    return KindPlatform().ensure_cluster(spec, lines.append), lines


CONTROL_PLANE = {"role": "control-plane"}
GPU_NODE = {"role": "control-plane", "labels": {"nvidia.com/gpu.present": "true"},
            "extraMounts": [{"hostPath": "/dev/null",
                             "containerPath": "/var/run/nvidia-container-devices/all"}]}


@pytest.mark.parametrize(("block", "name", "image", "node"), [
    (None, "kf", DEFAULT_IMAGE, CONTROL_PLANE),
    ({"image": "kindest/node:v1.32.5"}, "kf", "kindest/node:v1.32.5", CONTROL_PLANE),
    ({"name": "other", "gpus": 2}, "other", DEFAULT_IMAGE, GPU_NODE),
], ids=["platform-default-image", "spec-image-sets-version", "named-with-gpus"])
def test_create_arguments_and_config(fake: FakeKind, monkeypatch: pytest.MonkeyPatch,
                                     block: dict[str, Any] | None, name: str, image: str,
                                     node: dict[str, Any]) -> None:
    monkeypatch.setenv("FAKE_DOCKER_RUNTIME", "nvidia")
    info, _ = create(kind_spec(block))
    [record] = fake.creates()
    argv = record["argv"]
    config_path = argv[argv.index("--config") + 1]
    kubeconfig = fake.home / ".kube" / f"kfdeploy-{name}.yaml"
    assert argv == ["create", "cluster", "--name", name, "--image", image, "--config", config_path,
                    "--wait", "300s", "--kubeconfig", str(kubeconfig)]
    assert yaml.safe_load(record["config"]) == {
        "kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": [node]}
    assert not Path(config_path).exists(), "the temporary config file is removed"
    assert (info.name, info.context, info.created, info.nodes) == (name, f"kind-{name}", True, 1)
    assert info.kubeconfig == kubeconfig
    docker_calls = [c for c in fake.calls() if c[0] == "docker"]
    assert docker_calls == ([["docker", "info", "--format", "{{.DefaultRuntime}}"]]
                            if node is GPU_NODE else [])


def test_no_default_image_leaves_kind_to_choose(fake: FakeKind) -> None:
    (Path(os.environ["KFDEPLOY_LIBRARY"]) / "platforms" / "kind.yaml").write_text("overlays: [kind]\n")
    create(kind_spec())
    [record] = fake.creates()
    assert "--image" not in record["argv"]


def test_second_run_reuses_cluster(fake: FakeKind) -> None:
    first, _ = create(kind_spec())
    calls_before = len(fake.calls())
    second, lines = create(kind_spec({"image": "kindest/node:v1.34.0"}))
    later = fake.calls()[calls_before:]
    assert len(fake.creates()) == 1
    assert [c[:2] for c in later] == [["get", "clusters"], ["get", "kubeconfig"], ["get", "nodes"]]
    assert (first.created, second.created) == (True, False)
    assert any("reusing kind cluster kf" in line for line in lines)


def test_kubeconfig_is_ours_and_user_kubeconfig_untouched(fake: FakeKind) -> None:
    info, _ = create(kind_spec())
    config = yaml.safe_load(info.kubeconfig.read_text())
    assert config["current-context"] == "kind-kf"
    assert [c["name"] for c in config["contexts"]] == ["kind-kf"]
    assert stat.S_IMODE(info.kubeconfig.stat().st_mode) == 0o600
    assert fake.user_kubeconfig.read_text() == USER_KUBECONFIG
    assert not (fake.home / ".kube" / "config").exists()


def test_kubeconfig_dir_override_and_refresh(fake: FakeKind, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_KUBECONFIG_DIR", str(tmp_path / "kc"))
    create(kind_spec())
    path = tmp_path / "kc" / "kfdeploy-kf.yaml"
    path.unlink()
    assert KindPlatform().kubeconfig(kind_spec()) == path
    assert "kind-kf" in path.read_text()
    assert fake.calls()[-1] == ["get", "kubeconfig", "--name", "kf"]


def test_progress_streams_step_lines(fake: FakeKind) -> None:
    _, lines = create(kind_spec())
    assert lines[0] == f"creating kind cluster kf (image {DEFAULT_IMAGE}) ..."
    assert lines[1:] == ['kind: Creating cluster "kf" ...',
                         f"kind: • Ensuring node image ({DEFAULT_IMAGE}) ...",
                         f"kind: ✓ Ensuring node image ({DEFAULT_IMAGE})",
                         "kind: ✓ Starting control-plane"]


def test_delete(fake: FakeKind) -> None:
    create(kind_spec())
    platform = KindPlatform()
    assert platform.describe(kind_spec())["exists"] is True
    platform.delete_cluster(kind_spec())
    kubeconfig = fake.home / ".kube" / "kfdeploy-kf.yaml"
    assert fake.calls()[-1] == ["delete", "cluster", "--name", "kf", "--kubeconfig", str(kubeconfig)]
    assert fake.clusters() == []
    assert not kubeconfig.exists()
    assert platform.describe(kind_spec())["exists"] is False


def test_delete_missing_cluster_is_not_an_error(fake: FakeKind) -> None:
    KindPlatform().delete_cluster(kind_spec())
    assert fake.calls() == [["get", "clusters"]]


def test_describe(fake: FakeKind) -> None:
    create(kind_spec({"image": "kindest/node:v1.32.5@sha256:abc"}))
    assert KindPlatform().describe(kind_spec({"image": "kindest/node:v1.32.5@sha256:abc"})) == {
        "platform": "kind", "name": "kf", "exists": True, "nodes": ["kf-control-plane"],
        "image": "kindest/node:v1.32.5@sha256:abc", "kubernetesVersion": "v1.32.5", "gpus": 0,
        "kubeconfig": str(fake.home / ".kube" / "kfdeploy-kf.yaml"), "context": "kind-kf"}


DOCKER_DOWN = ("ERROR: failed to create cluster: failed to get docker info: command \"docker info "
               "--format '{{json .}}'\" failed with error: exit status 1\nCommand Output: Cannot "
               "connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")


@pytest.mark.parametrize(("stderr", "message", "hint"), [
    (DOCKER_DOWN, "Docker is not running", "start Docker"),
    ("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/"
     "docker.sock", "may not use Docker", "usermod -aG docker"),
    ('ERROR: failed to create cluster: node(s) already exist for a cluster with the name "kf"',
     "named kf already exists", "kind delete cluster --name kf"),
    ("docker: Error response from daemon: driver failed programming external connectivity on "
     "endpoint kf-control-plane: Bind for 127.0.0.1:6443 failed: port is already allocated.",
     "host port 6443 is already in use", "ss -ltnp 'sport = :6443'"),
    ('ERROR: failed to create cluster: failed to pull image "kindest/node:v1.99.0": command '
     '"docker pull kindest/node:v1.99.0" failed with error: exit status 1\nCommand Output: Error '
     "response from daemon: manifest for kindest/node:v1.99.0 not found: manifest unknown",
     "node image kindest/node:v1.99.0 could not be pulled", "spec.platform.kindCluster.image"),
    ("ERROR: failed to create cluster: failed to init node with kubeadm: command \"docker exec "
     "--privileged kf-control-plane kubeadm init\" failed with error: exit status 1",
     "kubeadm could not start the control plane", "inotify"),
    ("docker: Error response from daemon: could not select device driver \"\" with capabilities: "
     "[[gpu]].", "NVIDIA container runtime is not set up", "nvidia-ctk runtime configure"),
    ("ERROR: something nobody has seen before\nline two", "(exit code 3):\nERROR: something "
     "nobody has seen before\nline two", "kind export logs --name kf"),
], ids=["docker-not-running", "docker-permission", "name-in-use", "port-in-use", "unknown-image",
        "kubeadm-init-resources", "nvidia-runtime-missing", "unknown-shows-output"])
def test_create_failures_are_explained(fake: FakeKind, monkeypatch: pytest.MonkeyPatch,
                                       stderr: str, message: str, hint: str) -> None:
    monkeypatch.setenv("FAKE_KIND_FAIL", "create cluster")
    monkeypatch.setenv("FAKE_KIND_STDERR", stderr)
    monkeypatch.setenv("FAKE_KIND_EXIT", "3")
    image = "kindest/node:v1.99.0" if "v1.99.0" in stderr else None
    with pytest.raises(PlatformError) as caught:
        create(kind_spec({"image": image} if image else None))
    assert message in caught.value.message
    assert caught.value.message.startswith("`kind create cluster --name kf")
    assert hint in (caught.value.hint or "")


@pytest.mark.parametrize(("env", "message"), [
    ({"FAKE_DOCKER_RUNTIME": "runc"}, "Docker's default runtime is runc, not nvidia"),
    ({"FAKE_DOCKER_STDERR": "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."},
     "Docker is not running"),
], ids=["default-runtime-not-nvidia", "docker-down"])
def test_gpus_need_nvidia_default_runtime(fake: FakeKind, monkeypatch: pytest.MonkeyPatch,
                                          env: dict[str, str], message: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(PlatformError) as caught:
        create(kind_spec({"gpus": 1}))
    assert message in caught.value.message
    assert fake.creates() == [], "nothing is created when GPUs could not reach the node"


def test_stopped_node_container_is_named(fake: FakeKind, monkeypatch: pytest.MonkeyPatch) -> None:
    create(kind_spec())
    monkeypatch.setenv("FAKE_KIND_FAIL", "get kubeconfig")
    monkeypatch.setenv("FAKE_KIND_STDERR", 'ERROR: failed to get cluster internal kubeconfig: command '
                       '"docker exec --privileged kf-control-plane cat /etc/kubernetes/admin.conf" '
                       "failed with error: exit status 1\nCommand Output: Error response from "
                       "daemon: container 3f2a is not running")
    with pytest.raises(PlatformError) as caught:
        create(kind_spec())
    assert "node container of kind cluster kf is not running" in caught.value.message
    assert "docker start kf-control-plane" in (caught.value.hint or "")


def test_timeout_stops_kind(fake: FakeKind, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KIND_SLEEP", "60")
    with pytest.raises(PlatformError) as caught:
        KindPlatform(timeout=1).ensure_cluster(kind_spec(), lambda line: None)
    assert "did not finish within 1s and was stopped" in caught.value.message
    assert "Ensuring node image" in caught.value.message, "the last output is shown"
    assert fake.clusters() == []


@pytest.mark.parametrize(("env", "hint"), [
    ({"PATH": "{empty}"}, "install kind (https://kind.sigs.k8s.io/"),
    ({"KFDEPLOY_KIND_BINARY": "{empty}/kind"}, "fix or unset KFDEPLOY_KIND_BINARY"),
], ids=["not-on-path", "override-not-executable"])
def test_missing_kind(fake: FakeKind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      env: dict[str, str], hint: str) -> None:
    (tmp_path / "empty").mkdir()
    for key, value in env.items():
        monkeypatch.setenv(key, value.format(empty=tmp_path / "empty"))
    with pytest.raises(ToolMissingError) as caught:
        create(kind_spec())
    assert "kind not found" in caught.value.message
    assert hint in (caught.value.hint or "")


@pytest.mark.parametrize(("raw", "shown"), [
    ('Creating cluster "kf" ...', 'kind: Creating cluster "kf" ...'),
    (" • Preparing nodes 📦  ...", "kind: • Preparing nodes ..."),
    (" ✓ Waiting ≤ 5m0s for control-plane = Ready ⏳", "kind: ✓ Waiting 5m0s for control-plane = Ready"),
    (" ✗ Starting control-plane 🕹️", "kind: ✗ Starting control-plane"),
    ('Set kubectl context to "kind-kf"', None),
    ("You can now use your cluster with:", None),
    ("", None),
    (" •", None),
], ids=["creating", "step-started", "step-done", "step-failed", "context-line", "chatter", "blank",
        "marker-only"])
def test_progress_line(raw: str, shown: str | None) -> None:
    assert progress_line(raw) == shown


@pytest.mark.parametrize(("image", "version"), [
    ("kindest/node:v1.33.1", "v1.33.1"),
    ("kindest/node:v1.33.1@sha256:0123", "v1.33.1"),
    ("registry.local:5000/node:v1.32", "v1.32"),
    ("kindest/node:latest", None),
    (None, None),
], ids=["tag", "digest", "registry-port", "not-a-version", "none"])
def test_image_version(image: str | None, version: str | None) -> None:
    assert image_version(image) == version


def test_kind_config_without_gpus_has_no_mounts() -> None:
    assert kind_config(0)["nodes"] == [{"role": "control-plane"}]


def test_cluster_verbs_kubeconfig_and_delete(fake: FakeKind, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's cluster verbs drive this platform (get_platform patched: registration is elsewhere)."""
    from kfdeploy.options import Options
    from kfdeploy.workflow import cluster_verbs
    monkeypatch.setattr(cluster_verbs, "get_platform", lambda kind: KindPlatform())
    spec_file = tmp_path / "kfdef.yaml"
    spec_file.write_text("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nmetadata: {name: kf}\n"
                         "spec:\n  platform: {kind: kind}\n")
    opts = Options(file=str(spec_file))
    create(kind_spec())
    assert cluster_verbs.kubeconfig(opts).to_data()["current-context"] == "kind-kf"
    assert cluster_verbs.delete(opts).to_data() == {"name": "kf", "platform": "kind", "deleted": True}
    assert cluster_verbs.delete(opts).to_data()["deleted"] is False
    assert fake.clusters() == []
