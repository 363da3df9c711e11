"""``kfdeploy validate`` and ``kfdeploy schema`` through the command line: summaries, JSON
output, exit codes, and that user errors never print a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.spec.schema import kfdef_schema
from kfdeploy.workflow import spec_verbs

ROOT = Path(__file__).resolve().parents[2]
BROKEN = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {name: demo}
spec:
  platform:
    kind: kwok
    kwok: {nodePools: [{name: cpu, count: -1}]}
  applications: [{name: a}, {name: a}]
"""


@pytest.fixture()
def no_library_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec_verbs, "check_applications", lambda spec: [])


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("no_library_checks")
def test_validate_root_spec_summary() -> None:
    code, out, _ = run("validate", "-f", str(ROOT / "kfdef.yaml"))
    assert code == 0
    assert out.strip() == f"{ROOT / 'kfdef.yaml'}: valid KfDef 'kubeflow' (platform kwok, 15 applications)"


@pytest.mark.usefixtures("no_library_checks")
def test_validate_json() -> None:
    code, out, _ = run("validate", "-f", str(ROOT / "kfdef.yaml"), "-o", "json")
    data = json.loads(out)
    assert code == 0
    assert data["valid"] is True and data["name"] == "kubeflow" and data["platform"] == "kwok"
    assert len(data["applications"]) == 15 and len(data["specHash"]) == 64


@pytest.mark.usefixtures("no_library_checks")
def test_validate_counts_disabled(tmp_path: Path) -> None:
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(BROKEN.replace("count: -1", "count: 1").replace(
        "[{name: a}, {name: a}]", "[{name: a}, {name: b, enabled: false}]"))
    code, out, _ = run("validate", "-f", str(spec))
    assert (code, out.strip()) == (0, f"{spec}: valid KfDef 'demo' (platform kwok, 1 application, 1 disabled)")


@pytest.mark.parametrize("output", ["text", "json"])
def test_validate_errors_exit_3_without_traceback(tmp_path: Path, output: str) -> None:
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(BROKEN)
    code, out, err = run("validate", "-f", str(spec), "-o", output)
    assert code == 3
    assert "Traceback" not in out + err
    if output == "json":
        data = json.loads(out)
        assert data["valid"] is False and len(data["problems"]) == 2
    else:
        assert "2 problem(s)" in err and "spec.platform.kwok.nodePools[0].count" in err
        assert "duplicate application name 'a'" in err


def test_validate_missing_file_suggests_init(tmp_path: Path) -> None:
    code, _, err = run("validate", "-f", str(tmp_path / "nope.yaml"))
    assert code == 3
    assert "nope.yaml" in err and "does not exist" in err and "kfdeploy init" in err


def test_validate_reports_library_problems(tmp_path: Path) -> None:
    spec = tmp_path / "kfdef.yaml"
    spec.write_text("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nmetadata: {name: kf}\n"
                    "spec:\n  platform: {kind: kwok}\n  applications: [{name: no-such-component}]\n")
    code, _, err = run("validate", "-f", str(spec))
    assert code == 3 and "spec.applications[0]" in err and "no-such-component" in err
    code, out, _ = run("validate", "-f", str(spec), "-o", "json")
    [problem] = json.loads(out)["problems"]
    assert code == 3 and problem.startswith("spec.applications[0]") and "no-such-component" in problem


def test_schema_prints_and_writes(tmp_path: Path) -> None:
    code, out, _ = run("schema")
    assert code == 0 and json.loads(out) == kfdef_schema()
    target = tmp_path / "kfdef.schema.json"
    code, out, _ = run("schema", "-o", str(target))
    assert code == 0 and f"wrote {target}" in out
    assert json.loads(target.read_text()) == kfdef_schema()


def test_schema_unwritable(tmp_path: Path) -> None:
    code, _, err = run("schema", "-o", str(tmp_path / "no" / "such" / "dir.json"))
    assert code == 3 and "cannot write" in err


def test_version_names_the_pinned_tools() -> None:
    import json

    from click.testing import CliRunner

    from kfdeploy.cli import cli
    result = CliRunner().invoke(cli, ["version", "-o", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["tools"]["kube"].startswith("v1.")
    assert {"etcd", "kwok", "helm", "dir"} <= set(data["tools"])
