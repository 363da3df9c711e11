"""Reading the spec's YAML: one document, no duplicate keys, and where each field is.

PyYAML silently keeps the last of two equal keys; in a spec that hides a mistake (a second
``kind:`` under ``platform``), so duplicates are errors here. The positions map lets every
validation message point at a line. Aliases are bounded before anything is built from them: a
recursive alias is an error, and so is a document whose aliases expand past
``limits.SPEC_NODES`` nodes (a "billion laughs" expands a few lines into billions).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kfdeploy import limits

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

Path_ = tuple[Any, ...]


@dataclass
class YamlDoc:
    """A parsed document: the data, key positions (1-based line, column), and problems."""

    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def where(self, path: Path_) -> str:
        """`` (line N, column M)`` for the nearest known ancestor of ``path``, else ''."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.positions:
                line, col = self.positions[path[:end]]
                return f" (line {line}, column {col})"
        return ""


def format_path(path: Path_) -> str:
    """``('spec', 'applications', 2, 'name')`` -> ``spec.applications[2].name``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            out += ("." if out else "") + part
        else:
            out += f"[{json.dumps(str(part))}]"
    return out or "(top level)"


_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_NODE_EVENTS = (yaml.ScalarEvent, yaml.AliasEvent, *_OPEN)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader whose integers longer than Python converts are a marked error, not a crash."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)  # type: ignore[no-any-return]
        except ValueError as e:
            digits = sum(c.isdigit() for c in str(node.value))
            raise yaml.constructor.ConstructorError(
                None, None, f"a number with {digits:,} digits is too long to read; quote it if it "
                "is text, or write a smaller number", node.start_mark) from e


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def parse_yaml(text: str) -> YamlDoc:
    """Parse one YAML document; syntax errors become problems with line and column."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as e:
        return YamlDoc(None, problems=[_reader_problem(text, e)])
    try:
        too_big = _size_problem(_Loader(text))
        if too_big:
            return YamlDoc(None, problems=[too_big])
        node = loader.get_single_node()
        alias_problem = _alias_problem(node) if node is not None else ""
        if alias_problem:
            return YamlDoc(None, problems=[alias_problem])
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        return YamlDoc(None, problems=[_syntax_problem(e)])
    except yaml.reader.ReaderError as e:
        return YamlDoc(None, problems=[_reader_problem(text, e)])
    except yaml.YAMLError as e:  # pragma: no cover - PyYAML marks nearly every error
        return YamlDoc(None, problems=[f"invalid YAML: {e}"])
    except RecursionError:
        return YamlDoc(None, problems=["invalid YAML: nested too deeply"])
    finally:
        loader.dispose()
    doc = YamlDoc(data)
    if node is not None:
        _walk(node, (), doc, set())
    return doc


def _size_problem(parser: yaml.SafeLoader) -> str:
    """More nodes or deeper nesting than the limits, counted on the parser's events so that a
    huge document is refused before any node is built."""
    most, deepest = limits.value(limits.SPEC_NODES), limits.value(limits.SPEC_DEPTH)
    count = depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()  # type: ignore[no-untyped-call]
            count += isinstance(event, _NODE_EVENTS)
            depth += isinstance(event, _OPEN) - isinstance(event, _CLOSE)
            if count > most:
                return "YAML error: " + limits.exceeded(limits.SPEC_NODES, "the document")
            if depth > deepest:
                mark = event.start_mark
                return (f"YAML error at line {mark.line + 1}, column {mark.column + 1}: "
                        + limits.exceeded(limits.SPEC_DEPTH, "the document's nesting"))
        return ""
    finally:
        parser.dispose()


def _alias_problem(root: yaml.Node) -> str:
    """A recursive alias, or more nodes than the limit once every alias is expanded."""
    limit = limits.value(limits.SPEC_NODES)
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise _Recursive(node)
        open_.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                break
        open_.discard(key)
        sizes[key] = total
        return total

    try:
        total = size(root)
    except _Recursive as r:
        mark = r.node.start_mark
        return (f"YAML error at line {mark.line + 1}, column {mark.column + 1}: the value anchored here "
                "holds an alias to itself (a recursive alias); a spec is a tree, so write the value out")
    if total > limit:
        return "YAML error: " + limits.exceeded(limits.SPEC_NODES, "with its aliases expanded, the document")
    return ""


class _Recursive(Exception):
    def __init__(self, node: yaml.Node) -> None:
        super().__init__("recursive alias")
        self.node = node


def _reader_problem(text: str, e: yaml.reader.ReaderError) -> str:
    """A control character YAML does not allow; say where it is."""
    line = text.count("\n", 0, e.position) + 1
    column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
    char = f"#x{e.character:04x}" if isinstance(e.character, int) else repr(e.character)
    return (f"YAML syntax error at line {line}, column {column}: character {char} "
            "is not allowed in YAML; remove it")


def _syntax_problem(e: yaml.MarkedYAMLError) -> str:
    mark = e.problem_mark or e.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = " ".join(str(p) for p in (e.context, e.problem) if p)
    if "expected a single document" in what:
        what = "the file holds more than one YAML document; a spec is exactly one KfDef"
    elif "'\\t'" in what:
        what += " (indent with spaces, not tabs)"
    return f"YAML syntax error at {where}{what}"


def _walk(node: yaml.Node, path: Path_, doc: YamlDoc, seen_nodes: set[int]) -> None:
    """Record key positions and report duplicate keys, depth first; aliased nodes once."""
    if id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            doc.positions[path + (i,)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, path + (i,), doc, seen_nodes)
    elif isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                continue
            key, line = key_node.value, key_node.start_mark.line + 1
            if key in seen:
                doc.problems.append(_duplicate(path, key, seen[key], line))
            seen[key] = line
            doc.positions[path + (key,)] = (line, key_node.start_mark.column + 1)
            _walk(value_node, path + (key,), doc, seen_nodes)


def _duplicate(path: Path_, key: str, first: int, again: int) -> str:
    where = format_path(path + (key,))
    hint = ""
    if path == ("spec", "platform") and key == "kind":
        hint = "; the settings block of the kind platform is named kindCluster"
    return (f"{where} (line {again}): duplicate key {key!r}, first set on line {first}; "
            f"YAML keeps only the last one, so remove one of them{hint}")
