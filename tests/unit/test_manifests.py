"""Reading the YAML that kustomize prints: the fast reader gives exactly the documents PyYAML
gives, on kyaml-style output and on any JSON-like data PyYAML itself prints; bad YAML is
reported with PyYAML's words and the source named."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kfdeploy.errors import RenderError
from kfdeploy.render import manifests
from kfdeploy.render.manifests import load_documents, load_kyaml_documents

KYAML = '''apiVersion: v1
kind: ConfigMap
metadata:
  name: params
  labels:
    app.kubernetes.io/name: "on"
data:
  enabled: "yes"
  mode: "0755"
  date: "2024-01-02"
  empty: ""
  script: |
    #!/bin/sh
    echo hi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  paused: false
  template:
    spec:
      containers:
      - name: main
        args: ["--port=80", "--verbose"]
        resources: {limits: {cpu: 0.5}}
---
'''

pytestmark = pytest.mark.skipif(manifests.yaml_rs is None, reason="yaml-rs not installed")


def test_kyaml_output_reads_as_pyyaml_reads_it():
    fast = load_kyaml_documents(KYAML, "kustomize application 'x'")
    assert fast == load_documents(KYAML, "kustomize application 'x'")
    assert fast[0]["data"]["enabled"] == "yes" and fast[0]["data"]["mode"] == "0755"
    assert fast[1]["spec"]["replicas"] == 2 and fast[1]["spec"]["paused"] is False


@pytest.mark.parametrize("text", ["", "---\n", "kind: A\nmetadata: {name: a}\n"], ids=["empty", "only-separator", "one"])
def test_edge_streams(text: str):
    assert load_kyaml_documents(text, "k") == load_documents(text, "k")


def test_bad_yaml_is_worded_by_pyyaml_and_names_the_source():
    with pytest.raises(RenderError, match="kustomize application 'x': printed invalid YAML"):
        load_kyaml_documents("a: [\n", "kustomize application 'x'")


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=False, width=32),
                    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
                    st.sampled_from(["yes", "no", "on", "off", "y", "n", "0755", "1:20", "2001-12-14", "~", "null",
                                     "true", "1e3", ".5", "0x1f", "-", "a: b", "#x", "*a", "&a"]))
documents = st.dictionaries(st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8),
                            st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                                         | st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=3),
                                         max_leaves=10), min_size=1, max_size=5)


class KyamlLike(yaml.SafeDumper):
    """Quotes every string that YAML 1.1 or 1.2 would read as something else, as kyaml does."""


def _reads_back(value: str) -> bool:
    """Whether ``value`` unquoted reads back as this very string under both readers."""
    if not value or value.strip() != value or "\n" in value:
        return False
    try:
        old, new = yaml.safe_load(f"k: {value}"), manifests.yaml_rs.loads(f"k: {value}", parse_datetime=True)
    except Exception:  # noqa: BLE001 - anything unreadable unquoted gets quoted
        return False
    return isinstance(old, dict) and old.get("k") == value and isinstance(new, dict) and new.get("k") == value


def _quoted(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if _reads_back(value) else '"')


KyamlLike.add_representer(str, _quoted)


@settings(max_examples=150, deadline=None)
@given(st.lists(documents, min_size=1, max_size=3))
def test_any_json_like_stream_reads_the_same(docs: list[dict[str, Any]]):
    text = yaml.dump_all(docs, Dumper=KyamlLike, sort_keys=False)
    assert load_kyaml_documents(text, "k") == load_documents(text, "k")
