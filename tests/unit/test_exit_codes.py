"""Exit codes a CI job can rely on: 2 means "plan/diff found changes" and nothing else; bad
input (an invalid spec, a mistyped flag, a bad flag value, a missing confirmation) exits 3 on
every verb; errors 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import kfdeploy.errors as errors
from kfdeploy.cli import cli
from kfdeploy.errors import EXIT_BAD_INPUT, EXIT_CHANGES, KfdeployError

VERBS = [["validate"], ["build"], ["show"], ["plan"], ["diff"], ["apply"], ["status"], ["delete"], ["preflight"],
         ["cluster", "create"], ["cluster", "delete"], ["cluster", "kubeconfig"]]
IDS = [" ".join(v) for v in VERBS]
INVALID = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {name: demo}
spec:
  platform: {kind: kwok, kwok: {nodePools: [{name: cpu, count: -1}]}}
"""
VALID_EXISTING = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {name: demo}
spec:
  platform: {kind: existing, existing: {context: nowhere, kubeconfig: missing-kubeconfig}}
  applications: []
"""


def invoke(*args: str) -> tuple[int, str]:
    """(exit code, everything printed)."""
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("verb", VERBS, ids=IDS)
def test_a_mistyped_flag_is_bad_input_on_every_verb(verb: list[str]):
    code, err = invoke(*verb, "--no-such-flag")
    assert code == EXIT_BAD_INPUT, err
    assert "No such option" in err


@pytest.mark.parametrize("verb", VERBS, ids=IDS)
def test_an_invalid_spec_is_bad_input_on_every_verb(verb: list[str], tmp_path: Path):
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(INVALID)
    code, err = invoke(*verb, "-f", str(spec), "--yes")
    assert code == EXIT_BAD_INPUT, err
    assert "spec.platform.kwok.nodePools[0].count" in err


@pytest.mark.parametrize("args", [["apply", "--timeout", "soon"], ["plan", "-o", "xml"], ["no-such-verb"]],
                         ids=["bad-value", "bad-choice", "unknown-verb"])
def test_bad_values_and_unknown_verbs_are_bad_input(args: list[str]):
    assert invoke(*args)[0] == EXIT_BAD_INPUT


def test_a_missing_confirmation_is_bad_input_that_names_the_flag(tmp_path: Path):
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(VALID_EXISTING)
    code, err = invoke("delete", "-f", str(spec))  # CliRunner's stdin is not a terminal
    assert code == EXIT_BAD_INPUT and "--yes" in err


CLUSTER_VERBS = [v for v in VERBS if v[0] not in ("validate", "build", "show")]


@pytest.mark.parametrize("verb", CLUSTER_VERBS, ids=[" ".join(v) for v in CLUSTER_VERBS])
def test_a_cluster_that_cannot_be_reached_is_an_error_on_every_verb(verb: list[str], tmp_path: Path):
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(VALID_EXISTING)  # its kubeconfig does not exist
    code, err = invoke(*verb, "-f", str(spec), "--yes")
    assert code == errors.EXIT_ERROR, err
    assert "missing-kubeconfig" in err or "does not delete the cluster" in err


def test_no_error_exits_with_the_changes_code():
    def subclasses(cls: type[KfdeployError]) -> list[type[KfdeployError]]:
        return [cls] + [s for sub in cls.__subclasses__() for s in subclasses(sub)]
    import kfdeploy.kube.client  # noqa: F401  (its errors join the tree)
    codes = {c.__name__: c.exit_code for c in subclasses(errors.KfdeployError)}
    assert EXIT_CHANGES not in codes.values(), codes
    assert codes["SpecError"] == codes["UsageError"] == codes["RenderError"] == EXIT_BAD_INPUT


def test_history_lock_without_a_revision_is_bad_input_before_any_cluster_call(tmp_path: Path):
    spec = tmp_path / "kfdef.yaml"
    spec.write_text(VALID_EXISTING)  # its cluster does not exist: reaching it would be error 1
    code, err = invoke("history", "-f", str(spec), "--lock")
    assert code == EXIT_BAD_INPUT, err
    assert "--revision N" in err
