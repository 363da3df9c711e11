"""init --manifests per platform and with optional pieces: upstream's overlays for the platform
where the release has them, `--with` for what the example lists commented out, and spec.version.
Against the fixture release `release-cloud` (tests/fixtures/repos), built with the real kustomize."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from test_kustomize import REPOS, needs_kubectl

from kfdeploy.cli import cli
from kfdeploy.templates.manifests import OPTIONS, PLATFORM_CHOICES, Choice, Variant, apply_choice, version_line

pytestmark = needs_kubectl


@pytest.fixture
def release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "manifests-26.03"
    shutil.copytree(REPOS / "release-cloud", root)
    return root


def init(release: Path, *args: str) -> tuple[Any, dict[str, Any], str]:
    out = release.parent / "kfdef.yaml"
    result = CliRunner().invoke(cli, ["init", "--manifests", str(release), "-o", str(out), "--force", *args])
    text = out.read_text() if out.exists() and result.exit_code == 0 else ""
    return result, (yaml.safe_load(text) if text else {}), text


def paths(spec: dict[str, Any]) -> dict[str, list[str]]:
    return {a["name"]: ([a["kustomize"]["path"]] if isinstance(a["kustomize"]["path"], str) else a["kustomize"]["path"])
            for a in spec["spec"]["applications"]}


def shown(spec_file: Path, app: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["show", "-f", str(spec_file), "-a", app, "-o", "json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


@pytest.mark.parametrize("platform,extra,app,folder", [
    ("gke", ["--project", "p", "--location", "us-central1-a"], "istio", "common/istio/istio-install/overlays/gke"),
    ("kind", [], "auth", "common/oauth2-proxy/overlays/m2m-dex-and-kind"),
    ("eks", ["--region", "us-west-2"], "auth", "common/oauth2-proxy/overlays/m2m-dex-and-eks"),
    ("kwok", [], "istio", "common/istio/istio-install/overlays/oauth2-proxy"),
], ids=["gke", "kind", "eks", "kwok-keeps-the-example"])
def test_platform_uses_upstreams_overlay_and_the_split_still_renders_it(
        release: Path, platform: str, extra: list[str], app: str, folder: str) -> None:
    result, spec, text = init(release, "--platform", platform, *extra)
    assert result.exit_code == 0, result.output
    assert folder in paths(spec)[app]
    assert "the same objects as kustomize build example" in result.stdout
    choice = PLATFORM_CHOICES.get(platform)
    assert (choice is not None) == (f"# {choice.note[:40] if choice else '-'}" in text)


def test_gke_renders_istios_gke_overlay(release: Path) -> None:
    result, _, _ = init(release, "--platform", "gke", "--project", "p", "--location", "europe-west1")
    assert result.exit_code == 0, result.output
    [cni] = [o for o in shown(release.parent / "kfdef.yaml", "istio") if o["metadata"]["name"] == "istio-cni-config"]
    assert cni["data"]["cniBinDir"] == "/home/kubernetes/bin"


def test_eks_sets_the_issuer_of_its_region_with_the_cluster_id_to_fill_in(release: Path) -> None:
    result, spec, _ = init(release, "--platform", "eks", "--region", "eu-north-1")
    assert result.exit_code == 0, result.output
    [auth] = [a for a in spec["spec"]["applications"] if a["name"] == "auth"]
    assert auth["patches"][0]["target"]["kind"] == "RequestAuthentication"
    [issuer] = [o for o in shown(release.parent / "kfdef.yaml", "auth") if o["kind"] == "RequestAuthentication"]
    assert issuer["spec"]["jwtRules"][0]["issuer"] == "https://oidc.eks.eu-north-1.amazonaws.com/id/CLUSTER_ID"


def test_with_adds_an_optional_piece_and_the_spec_offers_the_others(release: Path) -> None:
    result, plain, text = init(release)
    assert result.exit_code == 0, result.output
    offered = [line.split()[1] for line in text.splitlines() if line.startswith("  #   ")]
    assert offered == ["ambient", "knative-eventing"]  # what this release ships, in OPTIONS order
    assert "knative" not in paths(plain)
    result, spec, text = init(release, "--with", "knative-eventing", "--with", "ambient")
    assert result.exit_code == 0, result.output
    assert paths(spec)["knative"] == ["common/knative/knative-eventing/base"]
    assert "common/istio/istio-install/overlays/ambient-oauth2-proxy" in paths(spec)["istio"]
    assert "Optional in this release" not in text


def test_an_option_the_release_lacks_for_the_platform_is_refused_with_what_it_ships(release: Path) -> None:
    result, _, _ = init(release, "--platform", "gke", "--project", "p", "--location", "x", "--with", "ambient")
    assert result.exit_code == 3
    assert "--with ambient: this release has none of its folders" in result.output
    assert "ambient-oauth2-proxy-gke" in result.output and "knative-eventing" in result.output
    assert not (release.parent / "kfdef.yaml").exists()


def test_spec_version_is_the_release_tag_or_absent(release: Path, tmp_path: Path) -> None:
    result, spec, _ = init(release)
    assert result.exit_code == 0, result.output
    assert spec["spec"]["version"] == "26.03"
    renamed = release.rename(tmp_path / "checkout")
    result, spec, _ = init(renamed)
    assert result.exit_code == 0, result.output
    assert "version" not in spec["spec"]


def test_choices_swap_only_folders_the_release_has() -> None:
    choice = Choice("x", "x", (Variant("a/one", "a/two"), Variant("b/one", "b/two")), adds=("c", "d"))
    applied = apply_choice(["a/one", "b/one", "z"], choice, {"a/two", "c"}.__contains__)
    assert applied.resources == ["a/two", "b/one", "z", "c"]
    assert applied.missing == ["b/two", "d"]
    assert version_line(None) == "" and '"v1.10.2"' in version_line("v1.10.2")


def test_every_option_and_platform_choice_changes_something() -> None:
    assert all(c.variants or c.adds for c in [*OPTIONS, *PLATFORM_CHOICES.values()])


def test_dashboard_2_folders_keep_their_application_names() -> None:
    """After 26.03 upstream moves the dashboard, profiles and PodDefaults webhook folders under
    applications/dashboard/upstream/: upgrade must find the same applications there."""
    from kfdeploy.templates.manifests import group
    moved = ["applications/dashboard/upstream/centraldashboard/overlays/oauth2-proxy",
             "applications/dashboard/upstream/poddefaults-webhooks/overlays/cert-manager",
             "applications/dashboard/upstream/profile-controller/pss"]
    before = ["applications/centraldashboard/overlays/oauth2-proxy",
              "applications/admission-webhook/upstream/overlays/cert-manager", "applications/profiles/pss"]
    assert [a.name for a in group(moved)] == [a.name for a in group(before)]


def test_a_platform_overlay_that_does_not_build_gives_its_patches_instead(release: Path) -> None:
    """v1.10.2's GKE overlay names a base that does not exist (`../../oauth2-proxy`): the split
    keeps the example's folder and carries the overlay's patch, so GKE still gets its CNI dir."""
    gke = release / "common" / "istio" / "istio-install" / "overlays" / "gke"
    (gke / "kustomization.yaml").write_text(
        "resources: [../../oauth2-proxy]\npatches:\n- path: cni-patch.yaml\n"
        "  target: {kind: ConfigMap, name: istio-cni-config, namespace: istio-system}\n")
    (gke / "cni-patch.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-cni-config,"
                                        " namespace: istio-system}\ndata: {cniBinDir: /home/kubernetes/bin}\n")
    result, spec, text = init(release, "--platform", "gke", "--project", "p", "--location", "x")
    assert result.exit_code == 0, result.output
    assert "common/istio/istio-install/overlays/oauth2-proxy" in paths(spec)["istio"]
    assert "overlays/gke does not build" in result.output and "its patches are here instead" in text
    [cni] = [o for o in shown(release.parent / "kfdef.yaml", "istio") if o["metadata"]["name"] == "istio-cni-config"]
    assert cni["data"]["cniBinDir"] == "/home/kubernetes/bin"


def test_folders_that_render_one_object_twice_are_refused_naming_it(release: Path) -> None:
    """26.03's ambient overlay also creates the kubeflow Namespace, which another folder creates."""
    ambient = release / "common" / "istio" / "istio-install" / "overlays" / "ambient-oauth2-proxy"
    (ambient / "namespace.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: oauth2-proxy}\n")
    kfile = ambient / "kustomization.yaml"
    kfile.write_text(kfile.read_text().replace("resources: [../oauth2-proxy]", "resources: [../oauth2-proxy, namespace.yaml]"))
    result, _, _ = init(release, "--with", "ambient")
    assert result.exit_code == 3
    assert "Namespace/oauth2-proxy is rendered by istio and auth" in result.output
    assert "(chosen: ambient)" in result.output
