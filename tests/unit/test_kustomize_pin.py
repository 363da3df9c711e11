"""The kustomize each repo renders with: the release's own CI pin, the table of supported releases,
the spec's override, or kubectl's built-in one. Stub executables record which binary built which
folder; one test renders for real with a built kustomize version when the tools dir has it."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_kustomize import REPOS
from test_params import make_spec
from test_render import write_library

from kfdeploy.errors import RenderError, ToolMissingError
from kfdeploy.library import Library
from kfdeploy.render import kustomize_pin, render
from kfdeploy.render.kustomize_pin import PIN_SCRIPTS, pinned_version, release_tags, table_version
from kfdeploy.tools import kustomize_binary, kustomize_path, kustomize_releases

BUILTIN = "v5.8.1"
# Prints one ConfigMap naming the binary and the folder it built; records its argv.
STUB = """#!/bin/sh
if [ "$1" = version ]; then echo '{{"kustomizeVersion": "{builtin}"}}'; exit 0; fi
echo "{name} $*" >> "{log}"
for last; do :; done
printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: {name}-%s\\n' "$(basename "$last")"
"""


@pytest.fixture
def stubs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tools dir with a stub kubectl (built-in kustomize 5.8.1) and stub kustomize 5.4.3 and
    5.7.1; returns the log every stub appends its arguments to."""
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "tools" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("kubectl", "kustomize-v5.4.3", "kustomize-v5.7.1"):
        exe = bin_dir / name
        exe.write_text(STUB.format(name=name, log=log, builtin=BUILTIN))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("KFDEPLOY_TOOLS_DIR", str(tmp_path / "tools"))
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    kustomize_pin.builtin_version.cache_clear()
    yield log
    kustomize_pin.builtin_version.cache_clear()


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    return write_library(tmp_path / "lib", {"unused": []})


def release(tmp_path: Path, folder: str, pin: str | None = None) -> Path:
    """A copy of fixture release v1 in ``folder``, with a CI script pinning ``pin`` if given."""
    root = tmp_path / folder
    shutil.copytree(REPOS / "release-v1", root)
    if pin:
        script = root / PIN_SCRIPTS[0]
        script.parent.mkdir(parents=True)
        script.write_text(f'#!/bin/bash\nKUSTOMIZE_VERSION="{pin}"\ncurl -LO "https://github.com/kubernetes-sigs/'
                          f'kustomize/releases/download/kustomize%2F${{KUSTOMIZE_VERSION}}/x.tar.gz"\n')
    return root


def calls(log: Path) -> dict[str, str]:
    """Folder built (its last path part) -> the binary that built it."""
    lines = [line.split() for line in log.read_text().splitlines()]
    return {Path(words[-1]).name: words[0] for words in lines}


REPO_CASES = [
    ("pin-script", {"pin": "v5.4.3"}, {}, "kustomize-v5.4.3", "pinned by the release's tests/"),
    ("table", {"folder": "manifests-1.11.0"}, {}, "kustomize-v5.7.1", "release v1.11.0 in tools/kustomize.env"),
    ("override-beats-pin", {"pin": "v5.4.3"}, {"kustomize": {"version": "v5.7.1"}}, "kustomize-v5.7.1",
     "kustomize.version"),
    ("override-kubectl", {"pin": "v5.4.3"}, {"kustomize": {"version": "kubectl"}}, "kubectl", "kustomize.version"),
    ("pin-equal-to-builtin", {"pin": BUILTIN}, {}, "kubectl", "as built into kubectl"),
    ("default", {}, {}, "kubectl", "default"),
]


@pytest.mark.parametrize("how,layout,repo_fields,binary,reason", REPO_CASES, ids=[c[0] for c in REPO_CASES])
def test_each_repo_renders_with_the_kustomize_chosen_for_it(stubs: Path, tmp_path: Path, lib: Library, how: str,
                                                            layout: dict[str, str], repo_fields: dict[str, Any],
                                                            binary: str, reason: str) -> None:
    root = release(tmp_path, layout.get("folder", "release"), layout.get("pin"))
    spec = make_spec({"repos": [{"name": "r", "uri": str(root), **repo_fields}],
                      "applications": [{"name": "ns", "kustomize": {"repo": "r", "path": "common/namespace"}}]})
    rendered = render(spec, lib)
    assert calls(stubs) == {"namespace": binary}
    assert [o["metadata"]["name"] for o in rendered.objects] == [f"{binary}-namespace"]
    assert reason in rendered.applications[0].tool
    assert (binary == "kubectl") == rendered.applications[0].tool.startswith("kubectl's built-in")


def test_two_repos_of_one_spec_render_with_their_own_kustomize(stubs: Path, tmp_path: Path, lib: Library) -> None:
    old, new = release(tmp_path, "old", "v5.4.3"), release(tmp_path, "new")
    spec = make_spec({"repos": [{"name": "old", "uri": str(old)}, {"name": "new", "uri": str(new)}],
                      "applications": [
                          {"name": "a", "kustomize": {"repo": "old", "path": "common/namespace"}},
                          {"name": "b", "kustomize": {"repo": "new", "path": "common/certs/issuer"}},
                          {"name": "c", "kustomize": {"path": "local"}}]})
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "kustomization.yaml").write_text("resources: []\n")
    render(spec.with_origin("kfdef.yaml", tmp_path), lib)
    assert calls(stubs) == {"namespace": "kustomize-v5.4.3", "issuer": "kubectl", "local": "kubectl"}
    assert stubs.read_text().count("kustomize-v5.4.3 build ") == 1  # `kustomize build DIR`


def test_pin_forms_of_the_ci_scripts(tmp_path: Path) -> None:
    script = tmp_path / PIN_SCRIPTS[0]
    script.parent.mkdir(parents=True)
    script.write_text('curl --remote-name "https://github.com/kubernetes-sigs/kustomize/releases/download/'
                      'kustomize%2Fv5.4.3/kustomize_v5.4.3_linux_amd64.tar.gz"\n')
    assert pinned_version(tmp_path) == ("v5.4.3", PIN_SCRIPTS[0])
    script.write_text("echo no pin here\n")
    assert pinned_version(tmp_path) is None


def test_release_tag_from_the_uri_or_the_archive_folder() -> None:
    uri = "https://github.com/kubeflow/manifests/archive/refs/tags/v1.10.2.tar.gz"
    assert release_tags(uri, Path("/cache/sha256/x/manifests-1.10.2")) == ["v1.10.2", "1.10.2"]
    assert release_tags("./m", Path("/tmp/manifests-26.03")) == ["26.03"]
    assert release_tags("./m", Path("/tmp/checkout")) == []
    table = kustomize_releases()
    assert table_version(["1.10.2"], table) == (table["v1.10.2"], "v1.10.2")
    assert table_version(["v26.03"], table) == (table["26.03"], "26.03")
    assert table_version(["0.1"], table) is None


def test_missing_version_offline_names_the_version_and_the_fixes(tmp_path: Path) -> None:
    env = {"KFDEPLOY_TOOLS_DIR": str(tmp_path / "tools"), "GOPROXY": "off", "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    if shutil.which("go", path=env["PATH"]) is None:
        env["PATH"] = str(Path(shutil.which("go") or "/nonexistent/go").parent)
    with pytest.raises(ToolMissingError) as e:
        kustomize_binary("v5.0.0", env=env)
    text = str(e.value)
    assert "kustomize v5.0.0" in text and str(kustomize_path("v5.0.0", env)) in text
    assert "make tools" in text and "go install sigs.k8s.io/kustomize/kustomize/v5@v5.0.0" in text


def test_missing_version_without_go_says_so(tmp_path: Path) -> None:
    env = {"KFDEPLOY_TOOLS_DIR": str(tmp_path / "tools"), "PATH": str(tmp_path)}
    with pytest.raises(ToolMissingError, match="Go toolchain is not on PATH"):
        kustomize_binary("v5.4.3", env=env)


def test_supported_releases_list_real_versions() -> None:
    table = kustomize_releases()
    assert table and all(v.startswith("v5.") for v in table.values())


@pytest.mark.parametrize("version,name", [("v5.4.3", "team-space"), ("v5.8.1", None)])
def test_a_pinned_kustomize_renders_the_placeholder_named_object_its_own_way(
        version: str, name: str | None, tmp_path: Path, lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Kubeflow v1.10 Profile pattern: the version the release pins names the object; 5.8.1
    keeps the placeholder name, which kfdeploy refuses."""
    if not kustomize_path(version).is_file():
        pytest.skip(f"kustomize {version} is not built yet (run `make tools`)")
    monkeypatch.setenv("KFDEPLOY_REPO_CACHE", str(tmp_path / "cache"))
    spec = make_spec({"repos": [{"name": "r", "uri": str(REPOS), "kustomize": {"version": version}}],
                      "applications": [{"name": "space", "kustomize": {"repo": "r", "path": "user-space"}}]})
    if name is None:
        with pytest.raises(RenderError, match=re.escape("metadata.name '$(space-name)' must be")):
            render(spec, lib)
        return
    app = render(spec, lib).applications[0]
    assert app.tool.startswith(f"kustomize {version} ") or version == kustomize_pin.builtin_version()
    assert [o["metadata"]["name"] for o in app.objects if o["kind"] == "Space"] == [name]


def test_build_verbose_names_the_kustomize_of_each_application(stubs: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kfdeploy.cli import cli
    root = release(tmp_path, "release", "v5.4.3")
    spec = make_spec({"repos": [{"name": "r", "uri": str(root)}],
                      "applications": [{"name": "ns", "kustomize": {"repo": "r", "path": "common/namespace"}}]})
    file = tmp_path / "kfdef.yaml"
    file.write_text(yaml.safe_dump(spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)))
    quiet = CliRunner().invoke(cli, ["build", "-f", str(file), "-d", str(tmp_path / "out")])
    loud = CliRunner().invoke(cli, ["build", "-f", str(file), "-d", str(tmp_path / "out"), "-v"])
    assert quiet.exit_code == loud.exit_code == 0, loud.output
    assert "kustomize v5.4.3" not in quiet.output
    assert "01-ns.yaml  1 object(s)  [kustomize v5.4.3 (pinned by the release's tests/" in loud.output
