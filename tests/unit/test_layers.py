"""The pipeline's layers, kept by a test (docs/architecture.md): spec -> render -> kube and
platforms, with preflight and gitops beside kube -> workflow -> cli. A module imports only its own layer
and those before it; among kube, platforms and preflight, kube imports neither of the others, and
platforms and preflight do not import each other. The top-level modules that every stage shares
(errors, the kinds table, object names, labels, poll, options, findings, ...) import no stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kfdeploy"
LAYER = {"spec": 1, "render": 2, "fidelity": 2, "kube": 3, "gitops": 3, "platforms": 3, "preflight": 3,
         "workflow": 4, "cli": 5, "ui": 5, "__main__": 5}
"""Units of the package and their layer; every other top-level module is shared (layer 0)."""
APART = {("kube", "platforms"), ("kube", "gitops"), ("kube", "preflight"), ("platforms", "preflight"), ("preflight", "platforms")}
"""(importer, imported) pairs of one layer that must stay apart."""
MODULES = sorted(PACKAGE.rglob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def unit(module: str) -> str:
    """The stage a ``kfdeploy.x.y`` module belongs to: ``x``."""
    return module.split(".")[1] if module.count(".") else ""


def unit_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def violations(me: str, modules: set[str]) -> list[str]:
    """The imports of unit ``me`` that break the layer rules."""
    out = []
    for module in sorted(m for m in modules if m.startswith("kfdeploy.")):
        other = unit(module)
        if other == me or other not in LAYER and LAYER.get(me, 0) > 0:
            continue
        if LAYER.get(other, 0) > LAYER.get(me, 0) or (me, other) in APART:
            out.append(module)
    return out


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_each_module_imports_only_its_layer_and_earlier_ones(path: Path) -> None:
    bad = violations(unit_of(path), imported(ast.parse(path.read_text())))
    assert bad == [], f"{path.relative_to(PACKAGE)} (layer {LAYER.get(unit_of(path), 0)}) imports {bad}"


@pytest.mark.parametrize("me,source,bad", [
    ("render", "from kfdeploy import kube\n", ["kfdeploy.kube"]),
    ("spec", "import kfdeploy.platforms.gke\n", ["kfdeploy.platforms.gke"]),
    ("platforms", "from kfdeploy.preflight.capacity import Node\n",
     ["kfdeploy.preflight.capacity", "kfdeploy.preflight.capacity.Node"]),
    ("kinds", "from kfdeploy.render import process\n", ["kfdeploy.render", "kfdeploy.render.process"]),
    ("workflow", "from kfdeploy.kube.client import Cluster\nfrom kfdeploy.objects import describe\n", []),
], ids=["render-reaches-kube", "spec-reaches-platforms", "platforms-reach-preflight", "shared-reaches-render",
        "workflow-uses-earlier"])
def test_the_check_sees_both_import_forms_and_the_rules(me: str, source: str, bad: list[str]) -> None:
    assert violations(me, imported(ast.parse(source))) == bad
