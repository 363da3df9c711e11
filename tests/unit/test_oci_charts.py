"""``oci://`` charts are fetched by kfdeploy, not by helm: the distribution API of a registry on
loopback (a bearer challenge, blobs redirected to storage), through the proxy, pinned in the lock,
cached, offline, in vendor bundles. A stub helm (``test_helm_network.seen``) records the chart
file it is given; ``test_a_build_renders_an_oci_chart_with_the_real_helm_and_no_network`` renders
with the real one."""

# ruff: noqa: F401, F811 (the network and seen fixtures are imported, used as parameters)
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from fakes.https_proxy import Network, network
from fakes.oci_registry import Registry, chart_archive
from test_helm_network import data_of, seen
from test_render import helm_binary

from kfdeploy.cli import cli
from kfdeploy.errors import RenderError
from kfdeploy.library import Library
from kfdeploy.render.charts import fetch_chart
from kfdeploy.render.lock import load, lock_path
from kfdeploy.render.oci import parse
from kfdeploy.render.repos import RepoResolver
from kfdeploy.render.vendor import import_bundle, write_bundle
from kfdeploy.spec.load import load_spec

CHART = "oci://ghcr.io/acme/charts/tiny"
MANIFEST_URL = "https://ghcr.io/v2/acme/charts/tiny/manifests/1.0.0"


DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("chart", "version", "url"), [
    (CHART, "1.0.0", MANIFEST_URL),
    (f"{CHART}:1.0.0", None, MANIFEST_URL),
    (f"{CHART}@{DIGEST}", None, f"https://ghcr.io/v2/acme/charts/tiny/manifests/{DIGEST}"),
    ("oci://docker.io/acme/tiny", "2.0.0", "https://registry-1.docker.io/v2/acme/tiny/manifests/2.0.0"),
    ("oci://registry.corp:5000/tiny", "1.0.0+build.7", "https://registry.corp:5000/v2/tiny/manifests/1.0.0_build.7"),
], ids=["version", "tag", "digest", "docker-hub", "port-and-build-metadata"])
def test_a_reference_names_the_manifest_url_helm_would_ask(chart: str, version: str | None, url: str) -> None:
    ref = parse(chart, version, "app")
    assert ref.url("manifests", ref.reference) == url


@pytest.mark.parametrize(("chart", "version", "problem"), [
    (CHART, None, "neither a version nor a digest"),
    (CHART, "^1.0.0", "not an exact version"),
    (f"{CHART}@sha256:abc", None, "not sha256:<64 hex digits>"),
    ("oci://ghcr.io", "1.0.0", "names no registry and chart"),
], ids=["no-version", "range", "short-digest", "no-repository"])
def test_a_reference_that_pins_nothing_is_bad_input(chart: str, version: str | None, problem: str) -> None:
    with pytest.raises(RenderError) as err:
        parse(chart, version, "helm application 'x'")
    assert chart in err.value.message and problem in err.value.message


def chart_args(spec_helm: dict[str, object], lib: Library, base: Path) -> list[str]:
    return list(json.loads(data_of(spec_helm, lib, base)["args"]))


def pins(base: Path) -> dict[str, str]:
    return load(base / "kfdef.lock").sources


def test_a_chart_is_fetched_through_the_token_challenge_and_the_blob_redirect_then_rendered_offline(
        seen: Library, network: Network, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    registry = Registry(network.origin, blob_host="blobs.example.net")
    archive = chart_archive("tiny", "1.0.0")
    manifest, layer = registry.push("acme/charts/tiny", "1.0.0", archive)
    args = chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)
    assert Path(args[2]).read_bytes() == archive  # helm renders the local chart
    assert "--version" not in args and not any(a.startswith("oci://") for a in args)
    assert network.proxy.connects and set(network.proxy.connects) <= {"ghcr.io:443", "blobs.example.net:443"}
    assert any(r.startswith("blobs.example.net/storage/") for r in network.origin.requests)  # redirected
    assert all(a.startswith("https://ghcr.io/") for a in registry.authorizations)  # no token to storage
    assert "application/vnd.oci.image.manifest.v1+json" in registry.accepts[0]
    assert network.origin.requests.count("ghcr.io/token?service=ghcr.io&scope=repository%3Aacme%2Fcharts%2Ftiny"
                                         "%3Apull") == 1  # one token for the manifest and the blob
    locked = pins(tmp_path)
    assert locked[MANIFEST_URL] == manifest.removeprefix("sha256:")
    assert locked[f"https://ghcr.io/v2/acme/charts/tiny/blobs/{layer}"] == layer.removeprefix("sha256:")
    assert registry.token not in (tmp_path / "kfdef.lock").read_text()

    asked = len(network.origin.requests)
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "1")
    network.down()
    assert chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)[2] == args[2]
    assert len(network.origin.requests) == asked


def test_a_digest_reference_and_an_artifact_proxy(seen: Library, network: Network, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_URL_REWRITE", "https://ghcr.io/=https://artifacts.corp.example/ghcr/")
    mirror = Registry(network.origin, host="artifacts.corp.example", prefix="/ghcr")
    manifest, _ = mirror.push("acme/charts/tiny", "1.0.0", chart_archive("tiny", "1.0.0"))
    args = chart_args({"chart": f"{CHART}@{manifest}"}, seen, tmp_path)
    assert Path(args[2]).read_bytes() == chart_archive("tiny", "1.0.0")
    assert not [r for r in network.origin.requests if r.startswith("ghcr.io")]  # all through the mirror
    assert f"https://ghcr.io/v2/acme/charts/tiny/manifests/{manifest}" in pins(tmp_path)  # the spec's URL


def test_a_challenge_without_a_scope_gets_a_token_for_pulling_the_chart(seen: Library, network: Network,
                                                                        tmp_path: Path) -> None:
    registry = Registry(network.origin, scoped=False)
    registry.push("acme/charts/tiny", "1.0.0", chart_archive("tiny", "1.0.0"))
    assert Path(chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)[2]).is_file()
    assert "ghcr.io/token?service=ghcr.io&scope=repository%3Aacme%2Fcharts%2Ftiny%3Apull" in network.origin.requests


def test_a_layer_whose_bytes_differ_from_the_manifest_is_refused_and_nothing_cached(
        seen: Library, network: Network, tmp_path: Path) -> None:
    registry = Registry(network.origin)
    _, layer = registry.push("acme/charts/tiny", "1.0.0", chart_archive("tiny", "1.0.0", "tampered"),
                             layer=chart_archive("tiny", "1.0.0"))
    with pytest.raises(RenderError) as err:
        chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)
    assert CHART in err.value.message and layer in err.value.message and "nothing was cached" in err.value.message
    assert not (network.cache / "blobs" / layer.removeprefix("sha256:")).exists()
    assert not any(layer.removeprefix("sha256:") in url for url in pins(tmp_path))


def test_a_manifest_that_is_not_the_pinned_digest_is_refused(seen: Library, network: Network,
                                                               tmp_path: Path) -> None:
    registry = Registry(network.origin)
    pinned, _ = registry.push("acme/charts/tiny", "1.0.0", chart_archive("tiny", "1.0.0"))
    registry.push("acme/charts/tiny", "2.0.0", chart_archive("tiny", "2.0.0"))
    registry.serve(f"acme/charts/tiny/manifests/{pinned}", registry.manifests["acme/charts/tiny:2.0.0"], manifest=True)
    with pytest.raises(RenderError) as err:
        chart_args({"chart": f"{CHART}@{pinned}"}, seen, tmp_path)
    assert f"{CHART}@{pinned}" in err.value.message and "sha256 mismatch" in err.value.message
    assert "@sha256" in str(err.value.hint) and not (tmp_path / "kfdef.lock").exists()


def test_a_chart_yaml_naming_another_chart_is_refused(seen: Library, network: Network, tmp_path: Path) -> None:
    Registry(network.origin).push("acme/charts/tiny", "1.0.0", chart_archive("other", "1.0.0"))
    with pytest.raises(RenderError) as err:
        chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)
    assert "'other', not 'tiny'" in err.value.message


def test_a_registry_that_wants_a_login_is_named_with_the_fix(seen: Library, network: Network,
                                                             tmp_path: Path) -> None:
    registry = Registry(network.origin, challenge=None)
    registry.push("acme/charts/tiny", "1.0.0", chart_archive("tiny", "1.0.0"))
    with pytest.raises(RenderError) as err:
        chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)
    assert f"{CHART}:1.0.0" in err.value.message and "401" in err.value.message
    assert "helm registry login ghcr.io" in str(err.value.hint)


def test_a_login_from_the_docker_config_reaches_the_token_service_only(
        seen: Library, network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": "dXNlcjpzM2NyZXQ="}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", str(tmp_path / "none.json"))
    registry = Registry(network.origin)
    registry.push("acme/charts/tiny", "1.0.0", chart_archive("tiny", "1.0.0"))
    chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)
    basic = [a for a in registry.authorizations if "Basic" in a]
    assert basic == [f"{registry.realm}: Basic dXNlcjpzM2NyZXQ="]  # to the token service, nowhere else
    assert "dXNlcjpzM2NyZXQ=" not in capfd.readouterr().err + (tmp_path / "kfdef.lock").read_text()


def test_a_tag_moved_upstream_is_a_lock_mismatch_naming_both_digests(
        seen: Library, network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry(network.origin)
    first, _ = registry.push("acme/charts/tiny", "1.0.0", chart_archive("tiny", "1.0.0"))
    chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)
    moved, _ = registry.push("acme/charts/tiny", "1.0.0", chart_archive("tiny", "1.0.0", "changed"))
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "another-machine"))
    with pytest.raises(RenderError) as err:
        chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)
    message = err.value.message
    assert MANIFEST_URL in message and first.removeprefix("sha256:") in message
    assert moved.removeprefix("sha256:") in message and "kfdef.lock" in message


def test_offline_without_the_chart_names_it_and_the_vendor_bundle(seen: Library, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "1")
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    with pytest.raises(RenderError) as err:
        chart_args({"chart": CHART, "version": "1.0.0"}, seen, tmp_path)
    assert f"{CHART}:1.0.0" in err.value.message and "offline" in err.value.message
    assert "kfdeploy vendor --import" in str(err.value.hint)


@pytest.fixture
def oci_spec(network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec whose one application is an oci:// chart, pushed to a registry with a blob host."""
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "0")
    Registry(network.origin, blob_host="blobs.example.net").push("acme/charts/tiny", "1.0.0",
                                                                 chart_archive("tiny", "1.0.0", "from-oci"))
    spec = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
            "spec": {"platform": {"kind": "kwok"},
                     "applications": [{"name": "tiny", "helm": {"chart": CHART, "version": "1.0.0",
                                                                "namespace": "web"}}]}}
    path = tmp_path / "site" / "kfdef.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_vendor_bundle_carries_the_manifest_and_the_chart(oci_spec: Path, network: Network, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(oci_spec)
    sources, tools = write_bundle(spec, RepoResolver.for_spec(spec), tmp_path / "bundle.tar.gz")
    assert {s["file"] for s in sources} == {"manifest.json", "tiny-1.0.0.tgz"} and tools == []  # no kustomize app
    network.down()
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "air-gapped"))
    lock_path(oci_spec).unlink()
    resolver = RepoResolver.for_spec(load_spec(oci_spec))
    import_bundle(tmp_path / "bundle.tar.gz", resolver)
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "1")
    chart = fetch_chart(load_spec(oci_spec).spec.applications[0].helm, resolver, "tiny")
    assert chart.read_bytes() == chart_archive("tiny", "1.0.0", "from-oci")


@pytest.mark.skipif(helm_binary() is None, reason="helm is not built yet (run `make tools`)")
def test_a_build_renders_an_oci_chart_with_the_real_helm_and_no_network(
        oci_spec: Path, network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["vendor", "-f", str(oci_spec), "-o", str(tmp_path / "b.tar.gz")])
    assert result.exit_code == 0, result.output
    network.down()
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", str(tmp_path / "no-registry.json"))
    result = CliRunner().invoke(cli, ["--offline", "build", "-f", str(oci_spec), "-d", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rendered = "".join(p.read_text() for p in sorted((tmp_path / "out").iterdir()))
    assert "greeting: from-oci" in rendered and "chart: tiny-1.0.0" in rendered
