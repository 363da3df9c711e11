"""validate says everything build would reject that the spec and the catalog can tell, all at
once with field paths; with --render it also renders (objects two applications render)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy.cli import cli
from kfdeploy.errors import EXIT_BAD_INPUT

REPO = Path(__file__).resolve().parents[2]


def validate(tmp_path: Path, apps: list[dict[str, Any]], *flags: str) -> tuple[int, list[str]]:
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
        "spec": {"platform": {"kind": "existing", "existing": {"context": "x"}}, "applications": apps}}))
    result = CliRunner().invoke(cli, ["validate", "-f", str(path), "-o", "json", *flags])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout).get("problems", [])


CASES = [
    ("unknown-dependency", [{"name": "istio", "dependsOn": ["nope"]}],
     ["spec.applications[0].dependsOn[0]: 'istio' depends on 'nope', which is not applied"]),
    ("disabled-dependency", [{"name": "cert-manager", "enabled": False}, {"name": "istio", "dependsOn": ["cert-manager"]}],
     ["spec.applications[1].dependsOn[0]: 'istio' depends on 'cert-manager', which is disabled"]),
    ("disabled-default-dependency", [{"name": "istio", "enabled": False}, {"name": "profiles"}],
     ["spec.applications[1] (component 'profiles' depends on it by default): 'profiles' depends on 'istio',"
      " which is disabled"]),
    ("cycle-through-defaults", [{"name": "istio", "dependsOn": ["central-dashboard"]}, {"name": "profiles"},
                                {"name": "central-dashboard"}],
     ["dependsOn forms a cycle", "central-dashboard -> istio", "default dependsOn included"]),
    ("cycle-and-unknown-together", [{"name": "istio", "dependsOn": ["profiles"]},
                                    {"name": "profiles", "dependsOn": ["istio", "dexx"]}],
     ["spec.applications[1].dependsOn[1]: 'profiles' depends on 'dexx'", "dependsOn forms a cycle"]),
]


@pytest.mark.parametrize(("apps", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_reports_dependency_problems(tmp_path: Path, apps: list[dict[str, Any]], words: list[str]) -> None:
    code, problems = validate(tmp_path, apps)
    assert code == EXIT_BAD_INPUT
    text = "\n".join(problems)
    for word in words:
        assert word in text, text


def test_two_applications_rendering_one_object_need_a_render(tmp_path: Path) -> None:
    shutil.copytree(REPO / "tests" / "fixtures" / "components" / "hello-list", tmp_path / "hello")
    apps = [{"name": "one", "jsonnet": {"path": "hello"}}, {"name": "two", "jsonnet": {"path": "hello"}}]
    assert validate(tmp_path, apps) == (0, [])  # the spec alone cannot tell
    code, problems = validate(tmp_path, apps, "--render")
    assert code == EXIT_BAD_INPUT
    assert "rendered twice in applications 'one' and 'two'" in problems[0]
