"""Hostile spec files fail fast with an error that names the limit and how to raise it: recursive
aliases, alias bombs ("billion laughs"), huge or deeply nested documents, oversized integers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kfdeploy import limits
from kfdeploy.cli import cli
from kfdeploy.errors import EXIT_BAD_INPUT, SpecError
from kfdeploy.spec import load_spec

HEAD = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata: {name: demo}
spec:
  platform: {kind: kwok}
"""


def laughs(levels: int, width: int = 9) -> str:
    """An alias bomb: ``width ** levels`` strings written in a few lines."""
    lines = ['  params:', '    "*":', '      a0: &a0 [' + ",".join(['"lol"'] * width) + "]"]
    lines += [f"      a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return HEAD + "\n".join(lines) + "\n"


def params(value: str) -> str:
    return HEAD + f'  params: {{"*": {{x: {value}}}}}\n'


CASES = [
    ("recursive-alias-top", "a: &x [*x]\n", ["line 1, column 4", "recursive alias"]),
    ("recursive-alias-map", params("&x {y: *x}"), ["line 6", "recursive alias"]),
    ("billion-laughs", laughs(9), [limits.SPEC_NODES.env, "aliases expanded", "100,000 nodes"]),
    ("many-nodes", params("[" + "1," * 200_000 + "1]"), [limits.SPEC_NODES.env, "the document exceeded"]),
    ("deep-lists", params("[" * 500 + "]" * 500), [limits.SPEC_DEPTH.env, "line 6"]),
    ("deep-maps", params("{a: " * 150 + "1" + "}" * 150), [limits.SPEC_DEPTH.env, "100 levels"]),
    ("huge-integer", params("9" * 5000), ["line 6, column 21", "5,000 digits", "quote it"]),
    ("huge-negative-integer", params("-" + "1" * 4400), ["4,400 digits"]),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_yaml_is_refused_with_the_limit(tmp_path: Path, text: str, words: list[str]) -> None:
    """Through the command line: exit 3, one problem that names the limit, no traceback."""
    (tmp_path / "kfdef.yaml").write_text(text)
    result = CliRunner().invoke(cli, ["validate", "-f", str(tmp_path / "kfdef.yaml"), "-o", "json"])
    assert result.exit_code == EXIT_BAD_INPUT and "Traceback" not in result.output
    [problem] = json.loads(result.stdout)["problems"]
    assert all(word in problem for word in words), problem


def test_aliases_within_the_limit_still_load(tmp_path: Path) -> None:
    path = tmp_path / "kfdef.yaml"
    path.write_text(laughs(3, width=3))  # 3 ** 3 strings: an ordinary use of aliases
    spec = load_spec(path)
    assert spec.spec.params["*"]["a3"][2][1][0] == ["lol"] * 3


@pytest.mark.parametrize(("limit", "text"), [
    (limits.SPEC_NODES, laughs(3)),
    (limits.SPEC_DEPTH, params("[" * 150 + "]" * 150)),
    (limits.SPEC_BYTES, params('"' + "x" * 5000 + '"')),
], ids=["nodes", "depth", "bytes"])
def test_each_limit_is_raised_by_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              limit: limits.Limit, text: str) -> None:
    path = tmp_path / "kfdef.yaml"
    path.write_text(text)
    small = {limits.SPEC_NODES: 500, limits.SPEC_DEPTH: 100, limits.SPEC_BYTES: 4000}[limit]
    monkeypatch.setenv(limit.env, str(small))
    with pytest.raises(SpecError, match=limit.env):
        load_spec(path)
    monkeypatch.setenv(limit.env, str(limit.most))
    assert load_spec(path).metadata.name == "demo"


def test_a_spec_larger_than_the_cap_is_not_read_in_full(tmp_path: Path) -> None:
    path = tmp_path / "kfdef.yaml"
    with path.open("w") as f:
        f.write(params('"' + "x" * (limits.SPEC_BYTES.default + 10) + '"'))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert f"{limits.SPEC_BYTES.default:,} bytes" in str(info.value)
    assert limits.SPEC_BYTES.env in str(info.value)
