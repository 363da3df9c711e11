"""The pipeline's stages lean only on earlier ones: spec and render run before there is a
cluster, so they import nothing of the cluster side, the platforms or the verbs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kfdeploy"
EARLY = sorted(p for stage in ("spec", "render") for p in (PACKAGE / stage).rglob("*.py"))
LATER = ("kfdeploy.kube", "kfdeploy.platforms", "kfdeploy.workflow", "kfdeploy.cli")


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("path", EARLY, ids=[str(p.relative_to(PACKAGE)) for p in EARLY])
def test_spec_and_render_import_no_later_stage(path: Path) -> None:
    later = sorted(m for m in imported(ast.parse(path.read_text())) if m.startswith(LATER))
    assert later == [], f"{path.name} imports {later}"


def test_the_check_sees_both_import_forms() -> None:
    tree = ast.parse("from kfdeploy import kube\nimport kfdeploy.platforms.gke\n")
    assert {m for m in imported(tree) if m.startswith(LATER)} == {"kfdeploy.kube", "kfdeploy.platforms.gke"}
