"""Reading spec files: YAML syntax errors with line and column, duplicate keys, empty files,
documents that are not mappings, missing files, and line numbers in field errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfdeploy.errors import SpecError
from kfdeploy.spec import load_spec

VALID = """\
apiVersion: kfdef.apps.kubeflow.org/v1
kind: KfDef
metadata:
  name: demo
spec:
  platform:
    kind: kwok
"""

CASES = [
    ("empty", "", ["the file is empty", "apiVersion, kind, metadata and spec"]),
    ("only-comments", "# nothing here\n", ["the file is empty"]),
    ("list", "- a\n- b\n", ["the top level is a list, not a mapping", "apiVersion: kfdef"]),
    ("scalar", "hello\n", ["the top level is string 'hello', not a mapping"]),
    ("unclosed-flow", "spec: {platform: [\n", ["YAML syntax error at line 2, column 1"]),
    ("bad-indent", "a:\n  b: 1\n c: 2\n", ["YAML syntax error at line 3, column 2"]),
    ("tab-indent", "a:\n\tb: 1\n", ["YAML syntax error at line 2"]),
    ("two-documents", VALID + "---\n" + VALID, ["more than one YAML document", "line 8"]),
    ("duplicate-key", VALID + "  version: '1'\n  version: '2'\n",
     ["spec.version (line 9): duplicate key 'version', first set on line 8"]),
    ("duplicate-kind", VALID + "    kind: {}\n",
     ["duplicate key 'kind'", "named kindCluster"]),
    ("control-character", "a: 1\nb: \x1f\n",
     ["YAML syntax error at line 2, column 4: character #x001f is not allowed"]),
    ("unhashable-key", "? [a, b]\n: c\n", ["YAML syntax error at line 1", "unhashable"]),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_file_problem(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "kfdef.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_field_errors_carry_lines(tmp_path: Path) -> None:
    path = tmp_path / "kfdef.yaml"
    path.write_text(VALID + "    kwok:\n      nodePools:\n      - {name: cpu, count: -1}\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.problems == [
        "spec.platform.kwok.nodePools[0].count (line 10, column 21): found number -1; must be >= 0"]


@pytest.mark.parametrize("make", [lambda p: p / "missing.yaml", lambda p: p],
                         ids=["missing-file", "directory"])
def test_missing_file_suggests_init(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(path) in str(info.value)
    assert "kfdeploy init" in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "kfdef.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SpecError):
        load_spec(path)


def test_origin_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "kfdef.yaml"
    path.write_text(VALID)
    spec = load_spec(path)
    assert spec.source == str(path)
    assert spec.base_dir == tmp_path.resolve()
    assert spec.resolve_path("charts/x") == tmp_path.resolve() / "charts" / "x"
    assert spec.resolve_path("/abs/x") == Path("/abs/x")
