"""Every error raised while handling another keeps it as its cause (``raise ... from e``), so the
underlying reason survives for library users and ``-v`` tracebacks; nothing hides it with
``from None``. Read from the source, so a new handler cannot forget."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kfdeploy"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def unchained_raises(tree: ast.AST) -> list[int]:
    lines = []
    for handler in (n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)):
        for node in ast.walk(handler):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue  # a bare `raise` re-raises the error itself
            reraised = isinstance(node.exc, ast.Name) and node.exc.id == handler.name
            hidden = isinstance(node.cause, ast.Constant) and node.cause.value is None
            if hidden or (node.cause is None and not reraised):
                lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(PACKAGE)) for p in SOURCES])
def test_errors_raised_in_a_handler_keep_their_cause(path: Path) -> None:
    assert unchained_raises(ast.parse(path.read_text())) == []


def test_the_check_finds_a_hidden_and_a_dropped_cause() -> None:
    source = "try:\n    f()\nexcept E as e:\n    raise X() from None\ntry:\n    g()\nexcept E:\n    raise Y()\n"
    assert unchained_raises(ast.parse(source)) == [4, 8]
