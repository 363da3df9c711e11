"""Loading a spec: file -> YAML -> KfDef, with every problem reported at once as a SpecError."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kfdeploy import limits
from kfdeploy.errors import SpecError
from kfdeploy.spec.checks import document_problems
from kfdeploy.spec.model import API_VERSION, KfDef
from kfdeploy.spec.problems import describe, to_problems
from kfdeploy.spec.yamlio import YamlDoc, parse_yaml

_LINE = re.compile(r"\(line (\d+)")
INIT_HINT = "write a starter spec with: kfdeploy init --platform kwok -o kfdef.yaml"


STDIN = "-"


def load_spec(path: str | Path) -> KfDef:
    """Read and validate the spec at ``path``; relative paths in it resolve against its folder.
    ``-`` reads stdin (as kubectl does), and relative paths then resolve against the current
    directory."""
    if str(path) == STDIN:
        return parse_text(read_bounded(sys.stdin.buffer.read, "<stdin>"), "<stdin>", Path.cwd())
    p = Path(path)
    source = str(path)
    if not _is_file(p):
        what = "is a directory, not a file" if p.is_dir() else "does not exist"
        raise SpecError(source, [f"the spec file {what}"], hint=INIT_HINT)
    try:
        with p.open("rb") as f:
            text = read_bounded(f.read, source)
    except OSError as e:
        raise SpecError(source, [f"cannot read the spec file: {e.strerror or e}"]) from e
    return parse_text(text, source, p.resolve().parent)


def _is_file(p: Path) -> bool:
    try:
        return p.is_file()
    except OSError as e:  # a name longer than the OS allows, a loop of links
        raise SpecError(str(p), [f"cannot read the spec file: {e.strerror or e}"]) from e


def read_bounded(read: Callable[[int], bytes], source: str) -> str:
    """Up to ``limits.SPEC_BYTES`` of UTF-8 text from ``read``; more is an error, not a long wait."""
    cap = limits.value(limits.SPEC_BYTES)
    raw = read(cap + 1)
    if len(raw) > cap:
        raise SpecError(source, [limits.exceeded(limits.SPEC_BYTES, "the spec")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(source, [f"the spec is not UTF-8 text (byte {e.start}): {e.reason}"]) from e


def parse_text(text: str, source: str, base_dir: Path) -> KfDef:
    """Validate YAML text (e.g. from stdin or a starter template)."""
    doc = parse_yaml(text)
    if doc.problems and doc.data is None:
        raise SpecError(source, doc.problems)
    return _validate(doc, source, base_dir)


def parse_spec(data: Any, source: str, base_dir: Path) -> KfDef:
    """Validate already-parsed data (a dict as read from YAML)."""
    return _validate(YamlDoc(data), source, base_dir)


def _validate(doc: YamlDoc, source: str, base_dir: Path) -> KfDef:
    shape = _shape_problem(doc.data)
    if shape:
        raise SpecError(source, doc.problems + [shape], hint=None if doc.data else INIT_HINT)
    problems = list(doc.problems)
    spec: KfDef | None = None
    try:
        spec = KfDef.model_validate(doc.data, by_alias=True, by_name=False)
    except ValidationError as e:
        problems += to_problems(e.errors(include_url=False), KfDef, doc)
    except RecursionError:
        problems.append("the document is nested too deeply")
    problems += [p for p in document_problems(doc) if p not in problems]
    if problems or spec is None:
        raise SpecError(source, sorted(problems, key=_line) or ["invalid spec"])
    return spec.with_origin(source, base_dir)


def _line(problem: str) -> int:
    """Sort key: problems in the order their lines appear; those without a line last."""
    found = _LINE.search(problem)
    return int(found.group(1)) if found else sys.maxsize


def _shape_problem(data: Any) -> str:
    """The whole document is not even a mapping: say what a spec looks like."""
    if data is None or data == "":
        return "the file is empty; a spec is a mapping with apiVersion, kind, metadata and spec"
    if not isinstance(data, dict):
        return (f"the top level is {describe(data)}, not a mapping; a spec starts with "
                f"'apiVersion: {API_VERSION}' and 'kind: KfDef'")
    return ""
