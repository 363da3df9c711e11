"""Careless command lines get clear errors (exit 3), never a traceback: -d at a file or past the
OS's name length, a spec path too long, `library compare` on deep or malformed input; `-f -`
reads the spec from stdin; `kfdeploy` alone prints help; `build -d` never writes through links."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.errors import EXIT_BAD_INPUT
from kfdeploy.workflow.render_verbs import HEADER

REPO = Path(__file__).resolve().parents[2]
TOO_LONG = "x" * 300


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def spec_text(component: str = "components/hello-list") -> str:
    return yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
        "spec": {"platform": {"kind": "existing", "existing": {"context": "x"}},
                 "applications": [{"name": "hello", "jsonnet": {"path": component}}]}})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "tests" / "fixtures" / "components" / "hello-list", tmp_path / "components" / "hello-list")
    (tmp_path / "kfdef.yaml").write_text(spec_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_no_arguments_prints_help_and_succeeds() -> None:
    code, out, _ = run()
    assert code == 0 and "Usage: " in out and "Typical flow" in out


def test_a_group_without_a_command_prints_its_help() -> None:
    code, out, _ = run("cluster")
    assert code == 0 and "Usage: " in out and "cluster [OPTIONS] COMMAND" in out


def test_spec_from_stdin_resolves_paths_against_the_working_directory(project: Path) -> None:
    code, out, err = run("show", "-f", "-", stdin=spec_text())
    assert code == 0, err
    assert "kind: ConfigMap" in out


def test_spec_from_stdin_is_validated_like_a_file(project: Path) -> None:
    code, _, err = run("validate", "-f", "-", stdin="a: &x [*x]\n")
    assert code == EXIT_BAD_INPUT and "<stdin>" in err and "recursive alias" in err


def test_spec_path_longer_than_the_os_allows(project: Path) -> None:
    code, _, err = run("validate", "-f", TOO_LONG + "/kfdef.yaml")
    assert code == EXIT_BAD_INPUT and "cannot read the spec file" in err


def test_build_dir_that_is_a_file(project: Path) -> None:
    (project / "notes.txt").write_text("mine")
    code, _, err = run("build", "-d", "notes.txt")
    assert code == EXIT_BAD_INPUT and "-d notes.txt: is a file, not a directory" in err
    assert (project / "notes.txt").read_text() == "mine"


def test_build_dir_name_too_long(project: Path) -> None:
    code, _, err = run("build", "-d", TOO_LONG)
    assert code == EXIT_BAD_INPUT and "cannot create the directory" in err


def test_build_never_writes_or_removes_through_links(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    victim, old_build = outside / "victim.yaml", outside / "old.yaml"
    victim.write_text("precious\n")
    old_build.write_text(HEADER + "looks like an earlier build\n")
    out = project / "build"
    out.mkdir()
    (out / "01-hello.yaml").symlink_to(victim)
    (out / "99-gone.yaml").symlink_to(old_build)
    code, _, err = run("build", "-d", "build")
    assert code == 0, err
    assert victim.read_text() == "precious\n" and old_build.read_text().startswith(HEADER)
    written = out / "01-hello.yaml"
    assert not written.is_symlink() and written.read_text().startswith(HEADER)


@pytest.mark.parametrize(("text", "words"), [
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: " + "[" * 5000 + "]" * 5000 + "\n",
     ["not valid YAML"]),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: " + "[" * 900 + "]" * 900 + "\n",
     ["object [0] (ConfigMap/x): data must be a mapping of strings"]),
    ("apiVersion: v1\nkind: [ConfigMap]\nmetadata: {name: x}\n", ["kind must be a string, got list"]),
    ("apiVersion: v1\nkind: Namespace\nmetadata: [x]\n", ["metadata must be a mapping"]),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &x [*x]\n", ["list that contains itself"]),
    ("x: " + "9" * 5000 + "\n", ["not valid YAML"]),
], ids=["too-deep-for-yaml", "deep-data", "kind-list", "metadata-list", "recursive-alias", "huge-integer"])
def test_library_compare_on_hostile_upstream(tmp_path: Path, text: str, words: list[str]) -> None:
    upstream = tmp_path / "upstream.yaml"
    upstream.write_text(text)
    code, _, err = run("library", "compare", "-f", str(REPO / "kfdef.yaml"), "--against", str(upstream))
    assert code == EXIT_BAD_INPUT, err
    assert str(upstream) in err
    for word in words:
        assert word in err, err
