"""The one table of limits and its one rule for an override: unset or empty is the default, a
whole number from 1 to the limit's ``most`` is taken, anything else is bad input (exit 3) that
names the variable, the value and the accepted range. A bad setting is never ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kfdeploy import limits
from kfdeploy.cli import cli
from kfdeploy.errors import EXIT_BAD_INPUT, UsageError

ROOT = Path(__file__).resolve().parents[2]
IDS = [limit.env for limit in limits.ALL]


def test_the_table_is_sound() -> None:
    assert len({limit.env for limit in limits.ALL}) == len(limits.ALL)
    assert all(1 <= limit.default <= limit.most for limit in limits.ALL)


@pytest.mark.parametrize("limit", limits.ALL, ids=IDS)
def test_every_limit_is_listed_in_the_readme(limit: limits.Limit) -> None:
    assert f"`{limit.env}`" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("limit", limits.ALL, ids=IDS)
@pytest.mark.parametrize("raw", ["", "  "])
def test_unset_or_empty_is_the_default(monkeypatch: pytest.MonkeyPatch, limit: limits.Limit, raw: str) -> None:
    monkeypatch.setenv(limit.env, raw)
    assert limits.value(limit) == limit.default
    monkeypatch.delenv(limit.env)
    assert limits.value(limit) == limit.default


@pytest.mark.parametrize("limit", limits.ALL, ids=IDS)
def test_the_range_ends_are_taken(monkeypatch: pytest.MonkeyPatch, limit: limits.Limit) -> None:
    for raw, expected in [("1", 1), (f" {limit.most} ", limit.most), (str(limit.default + 1), limit.default + 1)]:
        monkeypatch.setenv(limit.env, raw)
        assert limits.value(limit) == expected
        assert f"{expected:,} {limit.unit}" in limits.exceeded(limit, "it")


@pytest.mark.parametrize("limit", limits.ALL, ids=IDS)
@pytest.mark.parametrize("raw", ["0", "-5", "lots", "1e9", "1.5", "1_000", "+7", "\u0663", "ABOVE", "9" * 40])
def test_a_bad_value_is_named_with_the_range(monkeypatch: pytest.MonkeyPatch, limit: limits.Limit,
                                             raw: str) -> None:
    raw = str(limit.most + 1) if raw == "ABOVE" else raw
    monkeypatch.setenv(limit.env, raw)
    with pytest.raises(UsageError) as err:
        limits.value(limit)
    assert err.value.exit_code == EXIT_BAD_INPUT
    assert f"{limit.env}={raw!r}" in err.value.message
    assert f"from 1 to {limit.most}" in err.value.message
    assert f"({limit.default:,})" in str(err.value)  # the hint: unset it for the default


def test_a_bad_value_fails_the_command_with_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the command line: the setting is named, no traceback, the spec is not judged."""
    spec = tmp_path / "kfdef.yaml"
    spec.write_text("apiVersion: kfdef.apps.kubeflow.org/v1\nkind: KfDef\nmetadata: {name: demo}\n"
                    "spec:\n  platform: {kind: kwok}\n")
    assert CliRunner().invoke(cli, ["validate", "-f", str(spec)]).exit_code == 0
    monkeypatch.setenv(limits.SPEC_NODES.env, "lots")
    result = CliRunner().invoke(cli, ["validate", "-f", str(spec)])
    assert result.exit_code == EXIT_BAD_INPUT and "Traceback" not in result.output
    assert limits.SPEC_NODES.env in result.output and f"1 to {limits.SPEC_NODES.most}" in result.output
