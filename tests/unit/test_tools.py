"""Tool lookup: env override, then the versioned tools dir, then PATH (kubectl and helm only)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kfdeploy.errors import ToolMissingError
from kfdeploy.tools import (
    VERSIONS_FILE,
    find_tool,
    parse_versions,
    tool_env,
    tool_env_var,
    tool_versions,
    tools_dir,
    tools_key,
)


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture()
def layout(tmp_path: Path) -> dict[str, str]:
    """A tools dir holding kube-apiserver and kubectl, and a PATH dir holding kubectl, helm
    and etcd; returns the environment that points at them."""
    for name in ("kube-apiserver", "kubectl"):
        executable(tmp_path / "tools" / "bin" / name)
    for name in ("kubectl", "helm", "etcd"):
        executable(tmp_path / "path" / name)
    executable(tmp_path / "override" / "my-apiserver")
    return {"KFDEPLOY_TOOLS_DIR": str(tmp_path / "tools"), "PATH": str(tmp_path / "path"),
            "HOME": str(tmp_path)}


@pytest.mark.parametrize(("name", "extra_env", "expected"), [
    ("kube-apiserver", {}, "tools/bin/kube-apiserver"),
    ("kube-apiserver", {"KFDEPLOY_KUBE_APISERVER_BINARY": "{root}/override/my-apiserver"},
     "override/my-apiserver"),
    ("kubectl", {}, "tools/bin/kubectl"),
    ("helm", {}, "path/helm"),
], ids=["tools-dir", "env-override-wins", "tools-dir-before-path", "path-for-helm"])
def test_find_tool_precedence(layout: dict[str, str], tmp_path: Path, name: str,
                              extra_env: dict[str, str], expected: str) -> None:
    env = {**layout, **{k: v.format(root=tmp_path) for k, v in extra_env.items()}}
    assert find_tool(name, env) == str(tmp_path / expected)


@pytest.mark.parametrize(("name", "extra_env", "message", "hint"), [
    ("etcd", {}, "etcd not found in {root}/tools/bin/etcd", "KFDEPLOY_ETCD_BINARY"),
    ("kwokctl", {}, "kwokctl not found in {root}/tools/bin/kwokctl", "make tools"),
    ("kube-apiserver", {"KFDEPLOY_KUBE_APISERVER_BINARY": "{root}/nope"},
     "KFDEPLOY_KUBE_APISERVER_BINARY={root}/nope is not an executable file",
     "unset KFDEPLOY_KUBE_APISERVER_BINARY"),
], ids=["control-plane-never-from-path", "missing-says-make-tools", "bad-override"])
def test_find_tool_errors(layout: dict[str, str], tmp_path: Path, name: str,
                          extra_env: dict[str, str], message: str, hint: str) -> None:
    env = {**layout, **{k: v.format(root=tmp_path) for k, v in extra_env.items()}}
    with pytest.raises(ToolMissingError) as err:
        find_tool(name, env)
    assert message.format(root=tmp_path) in err.value.message
    assert hint in (err.value.hint or "")


def test_missing_tool_hint_names_go_and_env_vars(tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError) as err:
        find_tool("kube-apiserver", {"KFDEPLOY_TOOLS_DIR": str(tmp_path), "PATH": ""})
    assert err.value.hint == ("run `make tools` (needs Go >= 1.26) or set KFDEPLOY_TOOLS_DIR / "
                              "KFDEPLOY_KUBE_APISERVER_BINARY")


@pytest.mark.parametrize(("name", "var"), [
    ("kube-apiserver", "KFDEPLOY_KUBE_APISERVER_BINARY"),
    ("kube-controller-manager", "KFDEPLOY_KUBE_CONTROLLER_MANAGER_BINARY"),
    ("kwokctl", "KFDEPLOY_KWOKCTL_BINARY"),
], ids=["apiserver", "controller-manager", "kwokctl"])
def test_tool_env_var(name: str, var: str) -> None:
    assert tool_env_var(name) == var


def test_parse_versions_skips_comments_and_quotes() -> None:
    text = "# pinned\nKUBE_VERSION=v1.36.3\n\nETCD_VERSION=\"v3.6.16\"\n"
    assert parse_versions(text) == {"KUBE_VERSION": "v1.36.3", "ETCD_VERSION": "v3.6.16"}


def test_default_tools_dir_is_keyed_by_the_pinned_versions(tmp_path: Path) -> None:
    versions = parse_versions(VERSIONS_FILE.read_text())
    expected = (tmp_path / "cache" / "kfdeploy" / "tools" /
                f"kube-{versions['KUBE_VERSION']}_etcd-{versions['ETCD_VERSION']}"
                f"_kwok-{versions['KWOK_VERSION']}_helm-{versions['HELM_VERSION']}")
    assert tools_dir({"XDG_CACHE_HOME": str(tmp_path / "cache")}) == expected
    assert tools_dir({"HOME": str(tmp_path)}).parent == tmp_path / ".cache" / "kfdeploy" / "tools"
    assert tools_key(tool_versions()) == expected.name


def test_tool_env_puts_tools_bin_first(tmp_path: Path) -> None:
    env = tool_env({"KFDEPLOY_TOOLS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert env["PATH"] == f"{tmp_path / 'bin'}:/usr/bin:/bin"


def test_unreadable_versions_file_is_a_tool_error(tmp_path: Path) -> None:
    with pytest.raises(ToolMissingError, match="cannot read the tool versions file"):
        tool_versions(tmp_path / "versions.env")
