"""Property: whatever document or text arrives, parsing yields a KfDef or a SpecError with
at least one message; never another exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kfdeploy.errors import SpecError
from kfdeploy.spec import KfDef, parse_spec, parse_text

ROOT = Path(__file__).resolve().parents[2]
VALID = yaml.safe_load((ROOT / "kfdef.yaml").read_text())
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                    st.dates())
keys = st.one_of(st.text(max_size=12), st.sampled_from(
    ["apiVersion", "kind", "metadata", "spec", "platform", "name", "nodePools", "kwok", "gke",
     "applications", "helm", "jsonnet", "params", "*", "count"]), st.integers())
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=20)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a document, for picking one to mutate."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, prefix + (i,))
    return out


ALL_PATHS = paths(VALID)


def mutate(path: tuple[Any, ...], replacement: Any, delete: bool) -> Any:
    doc = copy.deepcopy(VALID)
    node = doc
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = replacement
    return doc


def assert_kfdef_or_spec_error(fn: Any, *args: Any) -> None:
    try:
        result = fn(*args)
    except SpecError as e:
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)
        assert e.exit_code == 3
        return
    assert isinstance(result, KfDef)
    result.spec_hash()


@SETTINGS
@given(values)
def test_random_documents(data: Any) -> None:
    assert_kfdef_or_spec_error(parse_spec, data, "kfdef.yaml", Path("."))


@SETTINGS
@given(st.sampled_from(ALL_PATHS), values, st.booleans())
def test_mutated_valid_document(path: tuple[Any, ...], replacement: Any, delete: bool) -> None:
    assert_kfdef_or_spec_error(parse_spec, mutate(path, replacement, delete), "kfdef.yaml",
                               Path("."))


@SETTINGS
@given(st.sampled_from(ALL_PATHS), values, st.booleans())
def test_mutated_valid_document_as_text(path: tuple[Any, ...], replacement: Any,
                                        delete: bool) -> None:
    text = yaml.safe_dump(mutate(path, replacement, delete), sort_keys=False)
    assert_kfdef_or_spec_error(parse_text, text, "kfdef.yaml", Path("."))


@SETTINGS
@given(st.one_of(st.text(max_size=200), st.text(alphabet=":-[]{}#&*!|>'\"%@` \n\tab1?,",
                                                 max_size=80)))
def test_random_text(text: str) -> None:
    assert_kfdef_or_spec_error(parse_text, text, "kfdef.yaml", Path("."))


@SETTINGS
@given(st.integers(min_value=0, max_value=5000), st.text(max_size=10))
def test_text_edits_of_a_valid_file(position: int, insert: str) -> None:
    text = (ROOT / "kfdef.yaml").read_text()
    position %= len(text)
    assert_kfdef_or_spec_error(parse_text, text[:position] + insert + text[position + 1:],
                               "kfdef.yaml", Path("."))
