"""Dependency graphs: stable order and cycle paths."""

from __future__ import annotations

import pytest

from kfdeploy.graph import find_cycle, stable_order


@pytest.mark.parametrize("graph,order", [
    ({}, []),
    ({"a": []}, ["a"]),
    ({"pipelines": ["istio", "cert-manager"], "istio": [], "cert-manager": [], "katib": ["istio"]},
     ["istio", "cert-manager", "pipelines", "katib"]),
    ({"c": ["b"], "b": ["a"], "a": [], "d": ["a", "c"]}, ["a", "b", "c", "d"]),
    ({"a": ["outside"], "b": []}, ["a", "b"]),
], ids=["empty", "single", "spec-order-wins-among-ready", "chain", "unknown-names-ignored"])
def test_stable_order(graph, order):
    assert stable_order(graph) == order


@pytest.mark.parametrize("graph,cycle", [
    ({"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
    ({"a": ["a"]}, ["a", "a"]),
    ({"x": [], "a": ["x", "c"], "b": ["a"], "c": ["b"]}, ["a", "c", "b", "a"]),
    ({"a": ["b"], "b": []}, []),
], ids=["two", "self", "three-behind-a-root", "acyclic"])
def test_find_cycle(graph, cycle):
    assert find_cycle(graph) == cycle


def test_stable_order_raises_with_the_cycle_path():
    with pytest.raises(ValueError, match="b -> c -> b"):
        stable_order({"a": [], "b": ["a", "c"], "c": ["b"]})
