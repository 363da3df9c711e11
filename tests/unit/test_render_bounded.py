"""User jsonnet cannot take kfdeploy down: deep recursion, long tailstrict loops, endless folds
and runaway allocation end the evaluation only, with ``application X: jsonnet evaluation
exceeded <limit>`` and the variable that raises it (exit 3)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kfdeploy import limits
from kfdeploy.cli import cli
from kfdeploy.errors import EXIT_BAD_INPUT, RenderError
from kfdeploy.render import bounded, jsonnet

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"

CASES = [  # fixture, the limit it runs into, that limit set small so the test is quick
    ("deep-recursion", limits.JSONNET_STACK_MB, 8),
    ("tailstrict-loop", limits.JSONNET_STACK_MB, 8),
    ("huge-fold", limits.JSONNET_SECONDS, 2),
    ("huge-allocation", limits.JSONNET_MEMORY_MB, 200),
]


def write_spec(tmp_path: Path, fixture: str) -> Path:
    component = tmp_path / "components" / fixture
    component.mkdir(parents=True)
    shutil.copy(HOSTILE / f"{fixture}.jsonnet", component / "main.jsonnet")
    path = tmp_path / "kfdef.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
        "spec": {"platform": {"kind": "existing", "existing": {"context": "x"}},
                 "applications": [{"name": "hostile", "jsonnet": {"path": f"components/{fixture}"}}]}}))
    return path


@pytest.mark.parametrize(("fixture", "limit", "small"), CASES, ids=[c[0] for c in CASES])
def test_hostile_jsonnet_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    fixture: str, limit: limits.Limit, small: int) -> None:
    monkeypatch.setenv(limit.env, str(small))
    result = CliRunner().invoke(cli, ["show", "-f", str(write_spec(tmp_path, fixture))])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    error = result.stderr
    assert "application 'hostile'" in error and "jsonnet evaluation exceeded" in error, error
    assert f"limit of {small:,} {limit.unit}" in error and f"{limit.env}=" in error, error
    assert "Traceback" not in result.output


def test_a_raised_stack_limit_lets_deep_recursion_render(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(limits.JSONNET_STACK_MB.env, "8")
    with pytest.raises(RenderError, match=limits.JSONNET_STACK_MB.env):
        jsonnet.evaluate(HOSTILE / "deep-recursion.jsonnet", {}, [])
    monkeypatch.setenv(limits.JSONNET_STACK_MB.env, "1024")
    value = jsonnet.evaluate(HOSTILE / "deep-recursion.jsonnet", {}, [])
    assert value[0]["data"]["x"].startswith("[[[[")


def test_evaluator_errors_and_values_cross_the_process_boundary() -> None:
    assert bounded.run(sorted, [3, 1, 2]) == [1, 2, 3]
    with pytest.raises(RuntimeError, match="by zero"):
        bounded.run(divmod, 1, 0)


def test_the_component_library_is_trusted_and_evaluated_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    from kfdeploy.library import Library
    from kfdeploy.render import render
    from kfdeploy.spec import parse_spec

    def no_child(*args: object) -> None:
        raise AssertionError("the library went through a bounded child")

    monkeypatch.setattr(bounded, "run", no_child)
    spec = parse_spec({"apiVersion": "kfdef.apps.kubeflow.org/v1", "kind": "KfDef", "metadata": {"name": "t"},
                       "spec": {"platform": {"kind": "existing", "existing": {"context": "x"}},
                                "applications": [{"name": "cert-manager"}]}}, "kfdef.yaml", HOSTILE)
    assert render(spec, Library.load()).objects
    with pytest.raises(AssertionError, match="bounded child"):  # user jsonnet still is
        jsonnet.evaluate(HOSTILE / "deep-recursion.jsonnet", {}, [])
