"""Fuzzing the spec loader: YAML text built from anchors, aliases, tags, long numbers, deep
nesting, control characters and mutations of the real kfdef.yaml. Whatever arrives, loading
ends with a KfDef or a SpecError (exit 3) naming the problem; never another exception, and
never a secret literal echoed. Time-boxed by max_examples (``KFDEPLOY_FUZZ_EXAMPLES`` raises it
for a longer run); the committed corpus (tests/fixtures/fuzz/spec) runs on every test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kfdeploy.errors import SpecError
from kfdeploy.spec import KfDef, parse_text

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "fixtures" / "fuzz" / "spec").glob("*.yaml"))
VALID = (ROOT / "kfdef.yaml").read_text()
FUZZ = settings(max_examples=int(os.environ.get("KFDEPLOY_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SECRET_NUMBER = "918273645"


def load(text: str) -> KfDef | SpecError:
    try:
        return parse_text(text, "fuzz.yaml", ROOT)
    except SpecError as e:
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)
        assert not [p for p in e.problems if "literalSource" in p.split(" ")[0] and SECRET_NUMBER in p]
        return e


LOADS = {"merge-key-alias"}  # corpus entries that are valid specs; every other one is refused


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus(path: Path) -> None:
    assert isinstance(load(path.read_text()), KfDef if path.stem in LOADS else SpecError)


tokens = st.sampled_from([
    "&a ", "*a", "&b ", "*b", "<<: *a", "!!binary ", "!!set ", "!!str ", "!!python/object:os.system ",
    "[", "]", "{", "}", ", ", ": ", "- ", "\n", "\n  ", "\n    ", "? ", "|", ">", "'", '"', "#",
    "9" * 4400, "1e999", "-.inf", ".nan", "0x1F", "0o17", "~", "null", "yes", "\t", "\x00", "\ufeff",
    "apiVersion", "kind", "KfDef", "spec", "platform", "applications", "dependsOn", "secrets",
    "literalSource", "value", SECRET_NUMBER, "name", "---", "...", "%YAML 1.1\n",
])


@FUZZ
@given(st.lists(tokens, max_size=60).map("".join))
@example("a: &x [*x]\n")
@example("spec: &s {platform: *s}\n")
def test_token_soup(text: str) -> None:
    load(text)


@FUZZ
@given(st.data())
def test_mutations_of_the_real_spec(data: st.DataObject) -> None:
    lines = VALID.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "copy", "insert", "indent", "cut"]))
        if action == "drop":
            del lines[at]
        elif action == "copy":
            lines.insert(at, lines[at])
        elif action == "insert":
            lines.insert(at, data.draw(tokens) + data.draw(tokens) + "\n")
        elif action == "indent":
            lines[at] = " " * data.draw(st.integers(0, 9)) + lines[at].lstrip()
        else:
            lines[at] = lines[at][: data.draw(st.integers(0, max(0, len(lines[at]) - 1)))] + "\n"
        if not lines:
            break
    load("".join(lines))
