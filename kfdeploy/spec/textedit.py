"""Edits of a spec's text by field path that keep everything else byte for byte: the user's
comments, key order and style outside the fields that change.

PyYAML has no round-trip mode, so edits work on lines, located with the key positions
``yamlio.parse_yaml`` records: a field's span runs from its key's line to the line before the
next line indented no deeper than the key (comment lines at that depth belong to what follows).
Replacing a field rewrites only its span; deleting a field or item removes its lines and the
comment lines right above it at its indentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kfdeploy.spec.yamlio import Path_, parse_yaml


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blank(line: str) -> bool:
    return not line.strip()


@dataclass
class SpecText:
    """A spec's text and pending line edits; ``text()`` applies them (bottom up)."""

    source: str
    edits: list[tuple[int, int, list[str]]] = field(default_factory=list)  # [start, end) -> lines

    def __post_init__(self) -> None:
        self.lines = self.source.splitlines(keepends=True)
        if self.lines and not self.lines[-1].endswith("\n"):
            self.lines[-1] += "\n"
        self.positions = parse_yaml(self.source).positions

    def has(self, path: Path_) -> bool:
        return path in self.positions

    def column(self, path: Path_) -> int:
        """0-based column of the key (or, for a list item, of its content after ``- ``)."""
        return self.positions[path][1] - 1

    def span(self, path: Path_) -> tuple[int, int]:
        """0-based ``[start, end)`` lines of a key and its value, or of a list item."""
        start = self.positions[path][0] - 1
        item = isinstance(path[-1], int)
        depth = self.column(path) - (2 if item else 0)
        end = start + 1
        while end < len(self.lines) and (_blank(self.lines[end]) or _indent(self.lines[end]) > depth or (
                not item and _indent(self.lines[end]) == depth and self.lines[end].lstrip().startswith("- "))):
            end += 1  # a key's list may sit at the key's own indentation
        while end - 1 > start and _blank(self.lines[end - 1]):
            end -= 1  # blank lines before the next field stay with it
        return start, end

    def replace(self, path: Path_, lines: list[str]) -> None:
        """Replace a field (key and value) with ``lines`` written at its key's indentation."""
        start, end = self.span(path)
        self.edits.append((start, end, self._at(self.column(path), lines)))

    def insert_after(self, path: Path_, lines: list[str], column: int | None = None) -> None:
        """Insert ``lines`` after a field's (or item's) span, at ``column`` (default: the field's)."""
        end = self.span(path)[1]
        self.edits.append((end, end, self._at(self.column(path) if column is None else column, lines)))

    def insert_before(self, path: Path_, lines: list[str], column: int) -> None:
        """Insert ``lines`` at ``column`` just before a field (or item)."""
        start = self.span(path)[0]
        self.edits.append((start, start, self._at(column, lines)))

    def delete(self, path: Path_) -> None:
        """Remove a field or item with the comment lines right above it at its indentation."""
        start, end = self.span(path)
        depth = self.column(path) - (2 if isinstance(path[-1], int) else 0)
        while start > 0 and self.lines[start - 1].lstrip().startswith("#") and _indent(self.lines[start - 1]) == depth:
            start -= 1
        self.edits.append((start, end, []))

    def text(self) -> str:
        lines = list(self.lines)
        for start, end, new in sorted(self.edits, key=lambda e: (e[0], e[1]), reverse=True):
            lines[start:end] = new
        return "".join(lines)

    @staticmethod
    def _at(column: int, lines: list[str]) -> list[str]:
        return [(" " * column + line).rstrip() + "\n" if line.strip() else "\n" for line in lines]
