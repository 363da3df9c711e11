"""``kfdeploy init``: a starter spec for every platform, with and without GPUs, that validates;
refusing to overwrite; clear usage errors for values it cannot guess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.spec import load_spec
from kfdeploy.workflow import spec_verbs

FLAGS = {
    "gke": ["--project", "my-proj", "--location", "us-central1-a"],
    "eks": ["--region", "us-west-2"],
    "existing": ["--context", "kind-dev"],
}
COMBOS = [(p, g) for p in ["gke", "eks", "kind", "minikube", "kwok", "existing"] for g in (0, 2)]
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


@pytest.fixture(autouse=True)
def _no_library_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the spec; the component library has its own tests."""
    monkeypatch.setattr(spec_verbs, "check_applications", lambda spec: [])


@pytest.mark.parametrize(("platform", "gpus"), COMBOS, ids=[f"{p}-gpus{g}" for p, g in COMBOS])
def test_init_then_validate(tmp_path: Path, platform: str, gpus: int) -> None:
    out = tmp_path / "kfdef.yaml"
    result = CliRunner().invoke(cli, ["init", "--platform", platform, "--gpus", str(gpus),
                                      *FLAGS.get(platform, []), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    checked = CliRunner().invoke(cli, ["validate", "-f", str(out)])
    assert checked.exit_code == 0, checked.output
    assert f"valid KfDef 'kubeflow' (platform {platform}," in checked.output
    spec = load_spec(out)
    names = [a.name for a in spec.spec.applications]
    assert names[:14] == ["cert-manager", "istio", "auth", "central-dashboard", "profiles",
                          "admission-webhook", "notebooks", "volumes-web-app", "tensorboards",
                          "training-operator", "katib", "pipelines", "kserve", "monitoring"]
    assert ("nvidia-device-plugin" in names) == (gpus > 0 and platform != "gke")
    assert "#" in out.read_text()


def gpu_pool(platform: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["init", "--platform", platform, "--gpus", "4",
                                      *FLAGS.get(platform, []), "-o", "-"])
    assert result.exit_code == 0, result.output
    block = yaml.safe_load(result.output)["spec"]["platform"][platform]
    pools = block.get("nodePools") or block["cluster"].get("nodePools") or block["cluster"]["nodeGroups"]
    return next(p for p in pools if p["name"] == "gpu")


def test_gke_gpu_pool() -> None:
    pool = gpu_pool("gke")
    assert pool["accelerators"] == [{"type": "nvidia-tesla-t4", "count": 4}]
    assert pool["taints"] == [GPU_TAINT]


def test_eks_gpu_node_group() -> None:
    group = gpu_pool("eks")
    assert group["amiType"] == "AL2023_x86_64_NVIDIA"
    assert group["instanceType"] == "g5.12xlarge"
    assert group["taints"] == [GPU_TAINT]


def test_kwok_gpu_pool() -> None:
    pool = gpu_pool("kwok")
    assert (pool["gpus"], pool["taints"]) == (4, [GPU_TAINT])


@pytest.mark.parametrize("platform", ["gke", "eks", "kwok"])
def test_no_gpu_pool_without_gpus(platform: str) -> None:
    result = CliRunner().invoke(cli, ["init", "--platform", platform, *FLAGS.get(platform, [])])
    assert "name: gpu" not in result.output and "nvidia" not in result.output.split("applications:")[1]


@pytest.mark.parametrize(("args", "words"), [
    (["--platform", "gke"], ["--platform gke needs --project", "--location"]),
    (["--platform", "gke", "--project", "p"], ["needs --location"]),
    (["--platform", "eks"], ["--platform eks needs --region"]),
    (["--platform", "existing"], ["needs --context"]),
    (["--name", "Bad_Name"], ["--name 'Bad_Name' is not a valid name"]),
    (["--gpus", "-1"], ["cannot be negative"]),
], ids=["gke-no-project", "gke-no-location", "eks-no-region", "existing-no-context", "bad-name",
        "negative-gpus"])
def test_usage_errors(args: list[str], words: list[str]) -> None:
    result = CliRunner().invoke(cli, ["init", *args])
    assert result.exit_code == 3
    for word in words:
        assert word in result.output
    assert "Traceback" not in result.output


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "kfdef.yaml"
    out.write_text("mine\n")
    result = CliRunner().invoke(cli, ["init", "-o", str(out)])
    assert result.exit_code == 3
    assert "already exists" in result.output and "--force" in result.output
    assert out.read_text() == "mine\n"
    forced = CliRunner().invoke(cli, ["init", "-o", str(out), "--force"])
    assert forced.exit_code == 0 and "kind: kwok" in out.read_text()


def test_stdout_and_name(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", "--name", "team-a", "-o", "-"])
    assert result.exit_code == 0
    assert yaml.safe_load(result.output)["metadata"]["name"] == "team-a"


def test_numeric_looking_values_stay_strings() -> None:
    result = CliRunner().invoke(cli, ["init", "--platform", "gke", "--project", "123",
                                      "--location", "yes", "-o", "-"])
    assert result.exit_code == 0, result.output
    gke = yaml.safe_load(result.output)["spec"]["platform"]["gke"]
    assert (gke["project"], gke["location"]) == ("123", "yes")
