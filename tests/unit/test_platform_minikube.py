"""The minikube platform against a stub ``minikube`` first on PATH that records its calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.local_cli import USER_KUBECONFIG, StubCli, install_stub, platform_spec

from kfdeploy.errors import PlatformError, ToolMissingError
from kfdeploy.platforms.minikube import (
    MinikubePlatform,
    Profile,
    Wanted,
    drift,
    is_running,
    memory_mb,
    normalize_version,
    parse_profiles,
    progress_line,
)
from kfdeploy.spec import KfDef


class FakeMinikube(StubCli):
    def starts(self) -> list[list[str]]:
        return [c for c in self.calls() if c[0] == "start"]

    def profiles(self) -> dict[str, Any]:
        return dict(json.loads(self.state.read_text())["profiles"]) if self.state.exists() else {}

    def set_profile(self, name: str, **changes: Any) -> None:
        state = json.loads(self.state.read_text())
        state["profiles"][name].update(changes)
        self.state.write_text(json.dumps(state))


@pytest.fixture()
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeMinikube:
    """The minikube stub first on PATH; the library's platforms/minikube.yaml says 1.33, 4 CPUs, 12g."""
    stub = install_stub(tmp_path, monkeypatch, "minikube",
                        "kubernetesVersion: '1.33'\ndefaults: {cpus: 4, memory: 12g}\n", unset=("KFDEPLOY_MINIKUBE_BINARY", "KFDEPLOY_KUBECONFIG_DIR", "FAKE_MINIKUBE_FAIL",
                               "MINIKUBE_IN_STYLE"))
    return FakeMinikube(**vars(stub))


def mk_spec(block: dict[str, Any] | None = None, name: str = "kf") -> KfDef:
    return platform_spec("minikube", "minikube", block, name)


def ensure(spec: KfDef) -> tuple[Any, list[str]]:
    lines: list[str] = []
    return MinikubePlatform().ensure_cluster(spec, lines.append), lines


@pytest.mark.parametrize(("block", "expected"), [
    (None, ["start", "-p", "kf", "--kubernetes-version", "v1.33.0", "--cpus", "4",
            "--memory", "12g"]),
    ({"profile": "dev", "kubernetesVersion": "v1.32.4", "cpus": 8, "memory": "16384mb"},
     ["start", "-p", "dev", "--kubernetes-version", "v1.32.4", "--cpus", "8", "--memory", "16384mb"]),
    ({"gpus": 1, "kubernetesVersion": "1.34"},
     ["start", "-p", "kf", "--kubernetes-version", "v1.34.0", "--cpus", "4", "--memory", "12g",
      "--gpus", "all", "--driver", "docker"]),
], ids=["platform-defaults", "spec-values", "gpus-use-docker-driver"])
def test_start_arguments(fake: FakeMinikube, block: dict[str, Any] | None,
                         expected: list[str]) -> None:
    info, _ = ensure(mk_spec(block))
    assert fake.starts() == [expected]
    profile = expected[2]
    assert (info.name, info.context, info.created, info.nodes) == (profile, profile, True, 1)
    assert info.kubeconfig == fake.home / ".kube" / f"kfdeploy-{profile}.yaml"


def test_every_call_uses_our_kubeconfig_and_plain_output(fake: FakeMinikube) -> None:
    ensure(mk_spec())
    ensure(mk_spec())
    ours = str(fake.home / ".kube" / "kfdeploy-kf.yaml")
    envs = [r["env"] for r in fake.records() if r["argv"][:2] != ["profile", "list"]]
    assert envs and all(e == {"KUBECONFIG": ours, "MINIKUBE_IN_STYLE": "false"} for e in envs)


def test_kubeconfig_is_ours_and_user_kubeconfig_untouched(fake: FakeMinikube) -> None:
    info, _ = ensure(mk_spec())
    config = yaml.safe_load(info.kubeconfig.read_text())
    assert config["current-context"] == "kf"
    assert fake.user_kubeconfig.read_text() == USER_KUBECONFIG
    assert not (fake.home / ".kube" / "config").exists()


def test_kubeconfig_dir_override_and_refresh(fake: FakeMinikube, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_KUBECONFIG_DIR", str(tmp_path / "kc"))
    ensure(mk_spec())
    path = tmp_path / "kc" / "kfdeploy-kf.yaml"
    path.unlink()
    assert MinikubePlatform().kubeconfig(mk_spec()) == path
    assert yaml.safe_load(path.read_text())["current-context"] == "kf"
    assert fake.calls()[-1] == ["update-context", "-p", "kf"]


def test_second_run_reuses_running_profile(fake: FakeMinikube) -> None:
    ensure(mk_spec())
    before = len(fake.calls())
    info, lines = ensure(mk_spec())
    assert [c for c in fake.calls()[before:] if c[:2] != ["profile", "list"]] == [
        ["status", "-p", "kf", "-o", "json"], ["update-context", "-p", "kf"]]
    assert len(fake.starts()) == 1
    assert info.created is False
    assert lines == ["reusing running minikube profile kf"]


def test_stopped_profile_is_started_again(fake: FakeMinikube) -> None:
    ensure(mk_spec())
    fake.set_profile("kf", status="Stopped")
    info, lines = ensure(mk_spec())
    assert fake.starts()[-1] == ["start", "-p", "kf", "--kubernetes-version", "v1.33.0"]
    assert info.created is False
    assert lines[0] == "reusing minikube profile kf: it is Stopped; starting it ..."
    assert fake.profiles()["kf"]["status"] == "Running"


def test_changed_version_upgrades_in_place(fake: FakeMinikube) -> None:
    ensure(mk_spec())
    info, lines = ensure(mk_spec({"kubernetesVersion": "v1.34.1"}))
    assert fake.starts()[-1] == ["start", "-p", "kf", "--kubernetes-version", "v1.34.1"]
    assert "changing Kubernetes v1.33.0 to v1.34.1" in lines[0]
    assert info.created is False


def test_changed_cpus_and_memory_are_reported_not_applied(fake: FakeMinikube) -> None:
    ensure(mk_spec())
    _, lines = ensure(mk_spec({"cpus": 6, "memory": "16g"}))
    assert len(fake.starts()) == 1
    assert lines[0].startswith("profile kf has 4 CPUs, the spec asks for 6; minikube cannot change")
    assert lines[1].startswith("profile kf has 12288MB of memory, the spec asks for 16g (16384MB)")


def test_progress_streams_steps_and_warnings(fake: FakeMinikube) -> None:
    _, lines = ensure(mk_spec())
    assert lines == [
        "creating minikube profile kf (Kubernetes v1.33.0, 4 CPUs, 12g memory) ...",
        "minikube: [kf] minikube v1.36.0 on Linux",
        "minikube: Creating docker container (CPUs=4, Memory=12288MB) ...",
        "minikube: Preparing Kubernetes v1.33.0 on Docker 28.1.1 ...",
        "minikube: warning: You have selected an example warning.",
        'minikube: Done! kubectl is now configured to use "kf" cluster and "default" namespace']


def test_delete(fake: FakeMinikube) -> None:
    ensure(mk_spec())
    platform = MinikubePlatform()
    assert platform.describe(mk_spec())["exists"] is True
    platform.delete_cluster(mk_spec())
    assert fake.calls()[-1] == ["delete", "-p", "kf"]
    assert fake.profiles() == {}
    assert not (fake.home / ".kube" / "kfdeploy-kf.yaml").exists()
    assert platform.describe(mk_spec())["exists"] is False


def test_delete_missing_profile_is_not_an_error(fake: FakeMinikube) -> None:
    MinikubePlatform().delete_cluster(mk_spec())
    assert fake.calls() == [["profile", "list", "-o", "json"]]


def test_describe(fake: FakeMinikube) -> None:
    assert MinikubePlatform().describe(mk_spec())["kubernetesVersion"] == "v1.33.0"
    ensure(mk_spec())
    assert MinikubePlatform().describe(mk_spec()) == {
        "platform": "minikube", "name": "kf", "exists": True, "status": "Running",
        "kubernetesVersion": "v1.33.0", "nodes": 1,
        "kubeconfig": str(fake.home / ".kube" / "kfdeploy-kf.yaml"), "context": "kf"}


@pytest.mark.parametrize(("stderr", "message", "hint"), [
    ("X Exiting due to PROVIDER_DOCKER_NOT_RUNNING: deadline exceeded running \"docker version\"",
     "Docker is not running", "start Docker"),
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon "
     "running?", "Docker is not running", "docker info"),
    ("X Exiting due to RSRC_INSUFFICIENT_CONTAINER_MEMORY: docker only has 7900MiB available, less "
     "than the required 12288MiB for Kubernetes", "not enough memory for 12g",
     "spec.platform.minikube.memory"),
    ("X Exiting due to RSRC_OVER_ALLOC_MEM: Requested memory allocation 12288MB is more than your "
     "system limit 7900MB.", "not enough memory", "give the host"),
    ("X Exiting due to RSRC_INSUFFICIENT_CORES: Requested cpu count 1 is less than the minimum "
     "allowed of 2", "not enough CPUs for 4", "spec.platform.minikube.cpus"),
    ("X Exiting due to K8S_OLD_UNSUPPORTED: Specified Kubernetes version 1.33.0 is less than the "
     "oldest supported version: v1.34.0", "Kubernetes v1.33.0 is not supported",
     "kubernetesVersion"),
    ("X Exiting due to K8S_DOWNGRADE_UNSUPPORTED: Unable to safely downgrade existing Kubernetes "
     "v1.34.0 cluster to v1.33.0", "minikube cannot downgrade", "kfdeploy cluster delete"),
    ("docker: Error response from daemon: could not select device driver \"\" with capabilities: "
     "[[gpu]].", "NVIDIA container runtime is not usable", "nvidia-ctk"),
    ("X Exiting due to MK_USAGE: The gpus flag can only be used with the docker driver and docker "
     "container-runtime", "GPUs were requested", "docker driver"),
    ("docker: Error response from daemon: driver failed programming external connectivity on "
     "endpoint kf: Bind for 127.0.0.1:8443 failed: port is already allocated.",
     "host port 8443 is already in use", "ss -ltnp 'sport = :8443'"),
    ("X Exiting due to GUEST_DRIVER_MISMATCH: The existing \"kf\" cluster was created using the "
     "\"kvm2\" driver, which is incompatible with requested \"docker\" driver.",
     "the name kf is already taken", "spec.platform.minikube.profile"),
    ("X Exiting due to GUEST_PROVISION: error provisioning guest: something new",
     "(exit code 80):\nX Exiting due to GUEST_PROVISION", "minikube logs -p kf"),
], ids=["docker-not-running", "docker-cannot-connect", "container-memory", "over-alloc-memory",
        "cpus", "version-unsupported", "version-downgrade", "nvidia-runtime", "gpus-driver",
        "port-in-use", "name-taken", "unknown-shows-output"])
def test_start_failures_are_explained(fake: FakeMinikube, monkeypatch: pytest.MonkeyPatch,
                                      stderr: str, message: str, hint: str) -> None:
    monkeypatch.setenv("FAKE_MINIKUBE_FAIL", "start")
    monkeypatch.setenv("FAKE_MINIKUBE_STDERR", stderr)
    monkeypatch.setenv("FAKE_MINIKUBE_EXIT", "80")
    with pytest.raises(PlatformError) as caught:
        ensure(mk_spec())
    assert caught.value.message.startswith("`minikube start -p kf --kubernetes-version v1.33.0")
    assert message in caught.value.message
    assert hint in (caught.value.hint or "")


def test_timeout_is_reported(fake: FakeMinikube, monkeypatch: pytest.MonkeyPatch,
                             tmp_path: Path) -> None:
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "minikube").write_text(
        "#!/bin/sh\ncase \"$1\" in profile) echo '{\"valid\": []}';; *) echo '* Starting'; "
        "exec sleep 60;; esac\n")
    (slow / "minikube").chmod(0o755)
    monkeypatch.setenv("KFDEPLOY_MINIKUBE_BINARY", str(slow / "minikube"))
    with pytest.raises(PlatformError) as caught:
        MinikubePlatform(timeout=1).ensure_cluster(mk_spec(), lambda line: None)
    assert "did not finish within 1s and was stopped; its last output:\n* Starting" in \
        caught.value.message


@pytest.mark.parametrize(("env", "hint"), [
    ({"PATH": "{empty}"}, "https://minikube.sigs.k8s.io/docs/start/"),
    ({"KFDEPLOY_MINIKUBE_BINARY": "{empty}/minikube"}, "fix or unset KFDEPLOY_MINIKUBE_BINARY"),
], ids=["not-on-path", "override-not-executable"])
def test_missing_minikube(fake: FakeMinikube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          env: dict[str, str], hint: str) -> None:
    (tmp_path / "empty").mkdir()
    for key, value in env.items():
        monkeypatch.setenv(key, value.format(empty=tmp_path / "empty"))
    with pytest.raises(ToolMissingError) as caught:
        ensure(mk_spec())
    assert "minikube not found" in caught.value.message
    assert hint in (caught.value.hint or "")


@pytest.mark.parametrize(("text", "mb"), [
    ("16g", 16384), ("16G", 16384), ("16gb", 16384), ("16384mb", 16384), ("8192", 8192),
    ("1t", 1048576), ("2097152k", 2048),
], ids=["g", "upper-g", "gb", "mb", "bare-is-mb", "t", "k"])
def test_memory_mb(text: str, mb: int) -> None:
    assert memory_mb(text) == mb


@pytest.mark.parametrize(("version", "normalized"), [
    ("1.33", "v1.33.0"), ("v1.33", "v1.33.0"), ("v1.33.1", "v1.33.1"), ("1.33.1", "v1.33.1"),
    ("stable", "stable"), ("latest", "latest"),
], ids=["minor", "v-minor", "full", "no-v", "stable", "latest"])
def test_normalize_version(version: str, normalized: str) -> None:
    assert normalize_version(version) == normalized


def test_parse_profiles_valid_and_invalid() -> None:
    text = json.dumps({"invalid": [{"Name": "broken", "Status": "Unknown", "Config": None}],
                       "valid": [{"Name": "kf", "Status": "Stopped", "Config": {
                           "CPUs": 4, "Memory": 12288, "KubernetesConfig": {"KubernetesVersion": "v1.33.0"},
                           "Nodes": [{"Name": ""}, {"Name": "m02"}]}}]})
    assert parse_profiles(text) == {
        "kf": Profile("kf", "Stopped", 4, 12288, "v1.33.0", 2),
        "broken": Profile("broken", "Unknown", None, None, None, 1)}
    assert parse_profiles('{"invalid": [], "valid": []}') == {}
    with pytest.raises(PlatformError, match="printed no JSON"):
        parse_profiles("* Exiting")


@pytest.mark.parametrize(("text", "running"), [
    ('{"Host": "Running", "APIServer": "Running"}', True),
    ('[{"Host": "Running", "APIServer": "Running"}, {"Host": "Running"}]', True),
    ('{"Host": "Running", "APIServer": "Stopped"}', False),
    ('{"Host": "Stopped", "APIServer": "Stopped"}', False),
    ('* Profile "kf" not found.', False),
], ids=["running", "multinode", "apiserver-stopped", "stopped", "not-json"])
def test_is_running(text: str, running: bool) -> None:
    assert is_running(text) is running


def test_drift_only_for_known_differences() -> None:
    want = Wanted(profile="kf", kubernetes_version="v1.33.0", cpus=4, memory="12g", gpus=0)
    assert drift(Profile("kf", "Running", 4, 12288, "v1.33.0", 1), want) == []
    assert drift(Profile("kf", "Running", None, None, None, 1), want) == []
    assert len(drift(Profile("kf", "Running", 2, 12288, "v1.33.0", 1), want)) == 1


@pytest.mark.parametrize(("raw", "shown"), [
    ("* Starting \"kf\" primary control-plane node", 'minikube: Starting "kf" primary control-plane node'),
    ("! Image was not built for the current minikube version.",
     "minikube: warning: Image was not built for the current minikube version."),
    ("🔥  Creating docker container (CPUs=4, Memory=12288MB) ...",
     "minikube: Creating docker container (CPUs=4, Memory=12288MB) ..."),
    ("  - Generating certificates and keys ...", None),
    ("X Exiting due to RSRC_INSUFFICIENT_CORES: ...", None),
    ("❌  Exiting due to RSRC_INSUFFICIENT_CORES: ...", None),
    ("", None),
], ids=["step", "warning", "styled-step", "sub-step", "error", "styled-error", "blank"])
def test_progress_line(raw: str, shown: str | None) -> None:
    assert progress_line(raw) == shown
