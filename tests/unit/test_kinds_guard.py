"""Kind facts live in one table (kfdeploy/kinds.py): a kind name written as a literal and used
as a rule anywhere else in the package (compared with, or listed in a module-level set, tuple or
dict) fails this test. Building an object (``{"kind": "Namespace", ...}``) or asking the API
server for one (``cluster.list("v1", "Pod")``) is not a rule and is not flagged."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from kfdeploy.kinds import KINDS

PACKAGE = Path(__file__).resolve().parents[2] / "kfdeploy"
NAMES = frozenset(r.kind for r in KINDS)

ALLOWED: dict[tuple[str, str], str] = {
    ("fidelity.py", "CustomResourceDefinition"):
        "the mapping rules of upstream objects to library components select CRDs by the group they"
        " define: product data about the upstream release, not a rule about the kind",
    ("fidelity.py", "NetworkPolicy"):
        "two upstream NetworkPolicies mapped to library components by name (product data)",
}


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _literals(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> Iterator[ast.Constant]:
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and n.value in NAMES and not isinstance(parents.get(n), ast.Dict):
            yield n


def kind_rules(source: str) -> set[tuple[int, str]]:
    """(line, kind) of each literal kind name used as a rule in ``source``."""
    tree = ast.parse(source)
    parents = _parents(tree)
    found: set[tuple[int, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            found |= {(c.lineno, str(c.value)) for c in _literals(node, parents)}
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, (ast.Set, ast.Tuple, ast.List, ast.Dict, ast.Call)):
            found |= {(c.lineno, str(c.value)) for c in _literals(value, parents)}
    return found


def test_no_kind_rule_outside_the_table() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "kinds.py":
            continue
        for line, kind in sorted(kind_rules(path.read_text())):
            if (path.name, kind) not in ALLOWED:
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {kind!r}")
    assert found == [], "kind rules belong in kfdeploy/kinds.py (a column), or in ALLOWED with a reason"


def test_the_guard_sees_comparisons_and_module_sets_but_not_objects_being_built() -> None:
    source = (
        'SCALABLE = frozenset({"Deployment"})\n'
        'def f(obj, cluster):\n'
        '    if obj.get("kind") == "Secret": pass\n'
        '    if kind in ("Job", "CronJob"): pass\n'
        '    cluster.get({"apiVersion": "v1", "kind": "Namespace"}) is None\n'
        '    cluster.list("v1", "Pod")\n'
    )
    assert kind_rules(source) == {(1, "Deployment"), (3, "Secret"), (4, "Job"), (4, "CronJob")}


def test_every_allowance_is_still_needed() -> None:
    used = {(p.name, kind) for p in PACKAGE.rglob("*.py") for _, kind in kind_rules(p.read_text())}
    assert set(ALLOWED) <= used
