"""The kustomize binary travels in the vendor bundle: the version a release pins is packed with
its os/arch and sha256, ``--import`` installs it into an empty tools dir where the offline render
finds and runs it; a binary for another os/arch, a tampered one or an entry naming a path are
refused before anything is imported. kubectl and kustomize are stub executables that record
which binary built which folder."""

# ruff: noqa: F401, F811 (the network fixture is imported from fakes.https_proxy, used as a parameter)
from __future__ import annotations

import hashlib
import shutil
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from fakes.https_proxy import Network, network
from test_kustomize_pin import STUB, calls
from test_remote import config_map, kustomization, tarball
from test_vendor import rewrite_member

from kfdeploy.cli import cli
from kfdeploy.render import kustomize_pin
from kfdeploy.render.kustomize_pin import PIN_SCRIPTS
from kfdeploy.render.vendor_tools import host
from kfdeploy.tools import kustomize_install_command, kustomize_path

URL = "https://github.com/example-org/manifests/archive/refs/tags/v1.0.0.tar.gz"
PINNED = "v5.4.3"
INDEX = "kfdeploy-vendor/index.yaml"


def kfdeploy(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def tools_dir(root: Path, log: Path, *names: str) -> Path:
    """A tools dir whose bin/ holds stub executables ``names``."""
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    for name in names:
        exe = bin_dir / name
        exe.write_text(STUB.format(name=name, log=log, builtin="v5.8.1"))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return root


@pytest.fixture
def site(network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec rendering one folder of a release whose CI pins kustomize v5.4.3, which is built
    (a stub) in the connected machine's tools dir; returns the spec file."""
    monkeypatch.setenv("KFDEPLOY_OFFLINE", "0")
    monkeypatch.setenv("KFDEPLOY_TOOLS_DIR", str(tools_dir(tmp_path / "tools", tmp_path / "calls.log",
                                                          "kubectl", f"kustomize-{PINNED}")))
    kustomize_pin.builtin_version.cache_clear()
    network.origin.add(URL, tarball("manifests-1.0.0", {
        PIN_SCRIPTS[0]: f'#!/bin/bash\nKUSTOMIZE_VERSION="{PINNED}"\n',
        "apps/hello/kustomization.yaml": kustomization("cm.yaml"),
        "apps/hello/cm.yaml": config_map("hello")}))
    spec = {"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
            "spec": {"platform": {"kind": "kwok"}, "repos": [{"name": "manifests", "uri": URL}],
                     "applications": [{"name": "hello", "kustomize": {"repo": "manifests", "path": "apps/hello"}}]}}
    path = tmp_path / "site" / "kfdef.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(spec))
    yield path
    kustomize_pin.builtin_version.cache_clear()


def members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def air_gapped(network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No network, an empty repo cache and a tools dir with kubectl only; the connected
    machine's tools dir is gone. Returns the new tools dir."""
    network.down()
    shutil.rmtree(tmp_path / "tools")
    fresh = tools_dir(tmp_path / "air-gapped-tools", tmp_path / "calls.log", "kubectl")
    monkeypatch.setenv("KFDEPLOY_TOOLS_DIR", str(fresh))
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "air-gapped-cache"))
    monkeypatch.setenv("KFDEPLOY_RENDER_CACHE", str(tmp_path / "air-gapped-render"))
    kustomize_pin.builtin_version.cache_clear()
    return fresh


def test_bundle_carries_the_pinned_kustomize_and_the_offline_render_runs_it(
        network: Network, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stub = (tmp_path / "tools" / "bin" / f"kustomize-{PINNED}").read_bytes()
    bundle = tmp_path / "bundle.tar.gz"
    result = kfdeploy("vendor", "-f", str(site), "-o", str(bundle))
    assert result.exit_code == 0, result.output
    packed = members(bundle)
    [tool] = yaml.safe_load(packed[INDEX])["tools"]
    assert (tool["name"], tool["version"], tool["platform"]) == ("kustomize", PINNED, host())
    assert tool["sha256"] == hashlib.sha256(stub).hexdigest() and tool["applications"] == ["hello"]
    assert packed[f"kfdeploy-vendor/tools/{tool['sha256']}"] == stub

    fresh = air_gapped(network, tmp_path, monkeypatch)
    result = kfdeploy("vendor", "-f", str(site), "--import", str(bundle))
    assert result.exit_code == 0, result.output
    installed = kustomize_path(PINNED)
    assert installed.parent == fresh / "bin" and str(installed) in result.output
    assert installed.read_bytes() == stub and installed.stat().st_mode & stat.S_IXUSR

    out = tmp_path / "offline"
    result = kfdeploy("--offline", "build", "-f", str(site), "-d", str(out))
    assert result.exit_code == 0, result.output
    assert calls(tmp_path / "calls.log")["hello"] == f"kustomize-{PINNED}"
    assert f"kustomize-{PINNED}-hello" in "".join(p.read_text() for p in out.iterdir())


def rewritten_index(bundle: Path, out: Path, change: dict[str, Any]) -> Path:
    index = yaml.safe_load(members(bundle)[INDEX])
    index["tools"][0].update(change)
    rewrite_member(bundle, out, INDEX, yaml.safe_dump(index).encode())
    return out


@pytest.mark.parametrize("change, words", [
    ({"platform": "plan9/mips"}, ["plan9/mips", host()]),
    ({"version": "v5.4.3/../../../escaped"}, ["tools[0]", "not a kustomize binary entry"]),
    ({"sha256": "0" * 64}, ["kustomize v5.4.3", "do not match sha256"]),
], ids=["other-os-arch", "version-names-a-path", "digest-not-the-bytes"])
def test_a_bad_binary_entry_is_refused_and_nothing_is_imported(
        network: Network, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        change: dict[str, Any], words: list[str]) -> None:
    bundle = tmp_path / "bundle.tar.gz"
    assert kfdeploy("vendor", "-f", str(site), "-o", str(bundle)).exit_code == 0
    bad = rewritten_index(bundle, tmp_path / "bad.tar.gz", change)
    fresh = air_gapped(network, tmp_path, monkeypatch)
    result = CliRunner().invoke(cli, ["vendor", "-f", str(site), "--import", str(bad)])
    assert result.exit_code == 3, result.output
    assert all(w in result.output for w in words), result.output
    assert sorted(p.name for p in (fresh / "bin").iterdir()) == ["kubectl"]
    assert not list((tmp_path / "air-gapped-cache").glob("sha256/*"))


def test_tampered_binary_bytes_are_refused(network: Network, site: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "bundle.tar.gz"
    assert kfdeploy("vendor", "-f", str(site), "-o", str(bundle)).exit_code == 0
    [tool] = yaml.safe_load(members(bundle)[INDEX])["tools"]
    tampered = tmp_path / "tampered.tar.gz"
    rewrite_member(bundle, tampered, f"kfdeploy-vendor/tools/{tool['sha256']}", b"#!/bin/sh\necho owned\n")
    fresh = air_gapped(network, tmp_path, monkeypatch)
    result = CliRunner().invoke(cli, ["vendor", "-f", str(site), "--import", str(tampered)])
    assert result.exit_code == 3 and "do not match" in result.output and tool["sha256"] in result.output
    assert not kustomize_path(PINNED).exists() and (fresh / "bin" / "kubectl").exists()


def test_asked_for_version_not_built_without_the_go_proxy_names_the_go_install_command(
        site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOPROXY", "off")
    bundle = tmp_path / "bundle.tar.gz"
    result = CliRunner().invoke(cli, ["vendor", "-f", str(site), "-o", str(bundle), "--kustomize", "v5.7.1"])
    assert result.exit_code != 0 and kustomize_install_command("v5.7.1") in result.output
    assert not bundle.exists()
    result = CliRunner().invoke(cli, ["vendor", "-f", str(site), "-o", str(bundle), "--kustomize", "latest"])
    assert result.exit_code == 3 and "'latest'" in result.output and "v5.7.1" in result.output


def test_asked_for_version_that_is_built_is_carried_beside_the_pinned_one(site: Path, tmp_path: Path) -> None:
    extra = tools_dir(tmp_path / "extra", tmp_path / "calls.log", "kustomize-v5.7.1") / "bin" / "kustomize-v5.7.1"
    shutil.copy2(extra, tmp_path / "tools" / "bin")
    bundle = tmp_path / "bundle.tar.gz"
    result = kfdeploy("vendor", "-f", str(site), "-o", str(bundle), "--kustomize", "v5.7.1")
    assert result.exit_code == 0, result.output
    tools = yaml.safe_load(members(bundle)[INDEX])["tools"]
    assert {t["version"]: t["applications"] for t in tools} == {PINNED: ["hello"], "v5.7.1": []}


def test_offline_without_the_bundle_the_missing_kustomize_is_not_built_and_the_error_names_the_bundle(
        network: Network, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "bundle.tar.gz"
    assert kfdeploy("vendor", "-f", str(site), "-o", str(bundle)).exit_code == 0
    air_gapped(network, tmp_path, monkeypatch)
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(network.cache))  # the release is cached, its kustomize is not
    result = CliRunner().invoke(cli, ["--offline", "build", "-f", str(site), "-d", str(tmp_path / "out")])
    assert result.exit_code != 0 and f"kustomize {PINNED}" in result.output
    assert "offline" in result.output and "kfdeploy vendor --import" in result.output
    assert not kustomize_path(PINNED).exists()
