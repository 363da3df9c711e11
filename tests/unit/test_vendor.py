"""``kfdeploy vendor``: a bundle written on a connected machine, imported into an empty cache with
the network down, renders byte-identically with ``--offline``; a damaged bundle or one that
disagrees with the lock is refused."""

# ruff: noqa: F401, F811 (the network fixture is imported from fakes.https_proxy, used as a parameter)
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from fakes.https_proxy import Network, network
from test_kustomize import needs_kubectl
from test_remote import APPS, RELEASE, UPSTREAM, serve_upstream, tarball

from kfdeploy.cli import cli
from kfdeploy.render.lock import lock_path

RELEASE_URL = "https://github.com/example-org/release/archive/refs/tags/v1.0.0.tar.gz"


def kfdeploy(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def spec_file(network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec whose repo is a release archive URL whose kustomizations pull remote bases."""
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "0")  # restored after the test, whatever --offline set
    serve_upstream(network)
    network.origin.add(RELEASE_URL, tarball("release-1.0.0", RELEASE))
    spec = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
            "spec": {"platform": {"kind": "kwok"}, "repos": [{"name": "release", "uri": RELEASE_URL}],
                     "applications": APPS}}
    path = tmp_path / "site" / "kfdef.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(spec))
    return path


def build_bytes(spec: Path, out: Path, *flags: str) -> dict[str, bytes]:
    result = kfdeploy(*flags, "build", "-f", str(spec), "-d", str(out))
    assert result.exit_code == 0, result.output
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@needs_kubectl
def test_bundle_round_trip_renders_byte_identically_offline(network: Network, spec_file: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    online = build_bytes(spec_file, tmp_path / "online")
    bundle = tmp_path / "bundle.tar.gz"
    result = kfdeploy("vendor", "-f", str(spec_file), "-o", str(bundle))
    assert result.exit_code == 0, result.output
    assert f"{len(UPSTREAM) + 1} source(s)" in result.output
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
    assert "kfdeploy-vendor/index.yaml" in names and "kfdeploy-vendor/kfdef.lock" in names
    again = tmp_path / "again.tar.gz"
    kfdeploy("vendor", "-f", str(spec_file), "-o", str(again))
    assert again.read_bytes() == bundle.read_bytes()  # deterministic

    network.down()
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "air-gapped-cache"))
    result = kfdeploy("vendor", "-f", str(spec_file), "--import", str(bundle))
    assert result.exit_code == 0, result.output
    assert "imported" in result.output
    offline = build_bytes(spec_file, tmp_path / "offline", "--offline")
    assert offline == online
    assert b"workflows-crd" in offline["01-pipeline.yaml"] and b"workers-common" in offline["02-trainer.yaml"]


@needs_kubectl
def test_offline_build_without_the_bundle_names_the_url_and_the_fix(network: Network, spec_file: Path,
                                                                    tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--offline", "build", "-f", str(spec_file), "-d", str(tmp_path / "out")])
    assert result.exit_code == 3
    assert RELEASE_URL in result.output and "kfdeploy vendor --import" in result.output
    assert not network.origin.requests


def rewrite_member(bundle: Path, out: Path, name: str, data: bytes) -> None:
    with tarfile.open(bundle) as src, tarfile.open(out, "w:gz") as dst:
        for m in src.getmembers():
            body = data if m.name == name else src.extractfile(m).read()  # type: ignore[union-attr]
            m.size = len(body)
            dst.addfile(m, io.BytesIO(body))


@needs_kubectl
def test_damaged_bundle_and_lock_disagreement_are_refused(network: Network, spec_file: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "bundle.tar.gz"
    assert kfdeploy("vendor", "-f", str(spec_file), "-o", str(bundle)).exit_code == 0
    lock = yaml.safe_load(lock_path(spec_file).read_text())
    digest = next(s["sha256"] for s in lock["sources"] if s["url"] == RELEASE_URL)
    damaged = tmp_path / "damaged.tar.gz"
    rewrite_member(bundle, damaged, f"kfdeploy-vendor/sources/{digest}", b"not the release")
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "fresh"))
    result = CliRunner().invoke(cli, ["vendor", "-f", str(spec_file), "--import", str(damaged)])
    assert result.exit_code == 3 and RELEASE_URL in result.output and "do not match" in result.output

    other = "f" * 64
    lock_path(spec_file).write_text(lock_path(spec_file).read_text().replace(digest, other))
    result = CliRunner().invoke(cli, ["vendor", "-f", str(spec_file), "--import", str(bundle)])
    assert result.exit_code == 3 and RELEASE_URL in result.output and other in result.output and digest in result.output
