"""Turn pydantic's validation errors into messages a person can act on.

Each message names the field by its YAML path with list indices
(``spec.platform.gke.cluster.nodePools[1].autoscaling``), says what was found and what is
allowed, and suggests the close spelling of a mistyped key or choice.
"""

from __future__ import annotations

import datetime
import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from kfdeploy.spec.base import PATTERN_HINTS
from kfdeploy.spec.yamlio import YamlDoc, format_path

EXPECTED = {
    "string_type": "a string", "int_type": "an integer", "int_from_float": "a whole number",
    "float_type": "a number", "bool_type": "true or false", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping", "list_type": "a list",
}


def suggest(word: Any, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, ignoring case and snake_case."""
    if not isinstance(word, str) or not choices:
        return ""
    folded = {c.lower(): c for c in choices}
    camel = "".join(p if i == 0 else p[:1].upper() + p[1:] for i, p in enumerate(word.split("_")))
    for candidate in (word.lower(), camel.lower()):
        if candidate in folded and folded[candidate] != word:
            return f" (did you mean {folded[candidate]!r}?)"
    close = difflib.get_close_matches(word.lower(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""


SECRET_FIELDS = ("literalSource",)  # values under these keys are secrets: never echoed


@dataclass(frozen=True)
class Hidden:
    """A secret value in an error message: its kind only."""

    kind: str
    scalar: bool

    @classmethod
    def of(cls, value: Any) -> Hidden:
        kind = describe(value).split(" ")[0] if isinstance(value, (bool, int, float, str)) else describe(value)
        article = "a" if kind in ("number", "boolean", "string", "date") else ""
        return cls(f"{article} {kind}".strip(), isinstance(value, (bool, int, float, datetime.date)))


def describe(value: Any) -> str:
    """A value as a person reading YAML would name it."""
    if isinstance(value, Hidden):
        return f"{value.kind} (a secret: its value is not shown)"
    if value is None:
        return "an empty value (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"string {text!r}"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"date {value.isoformat()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def to_problems(errors: list[ErrorDetails], root: type[BaseModel], doc: YamlDoc) -> list[str]:
    """One message per error, in document order of appearance, without repeats."""
    out: list[str] = []
    for err in errors:
        message = to_problem(err, root, doc)
        if message not in out:
            out.append(message)
    return out


def to_problem(err: ErrorDetails, root: type[BaseModel], doc: YamlDoc) -> str:
    loc = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    if err["type"] == "kfdef_rule":
        loc = loc + (ctx["at"],)
    key = len(loc) > 1 and loc[-1] == "[key]"  # a top-level field may be named "[key]" itself
    loc = loc[:-1] if key else loc
    if any(part in SECRET_FIELDS for part in loc):
        err = {**err, "input": Hidden.of(err.get("input"))}
    where = f"{format_path(loc)}{doc.where(loc)}"
    return f"{where}: {'key: ' if key else ''}{_explain(err, loc, root)}"


def _explain(err: ErrorDetails, loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    kind, ctx, found = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return "required field is missing" + _doc_of(root, loc)
    if kind == "extra_forbidden":
        allowed = field_names(annotation_at(root, loc[:-1]))
        return (f"unknown field {loc[-1]!r}{suggest(loc[-1], allowed)}"
                f"; allowed: {', '.join(allowed)}")
    if kind == "literal_error":
        choices = literal_values(annotation_at(root, loc))
        return f"found {describe(found)}; allowed: {', '.join(choices)}{suggest(found, choices)}"
    if kind in EXPECTED:
        return f"found {describe(found)}; expected {EXPECTED[kind]}{_quote_hint(kind, found)}"
    if kind == "string_pattern_mismatch":
        wanted = PATTERN_HINTS.get(ctx["pattern"], f"text matching {ctx['pattern']}")
        return f"found {describe(found)}; expected {wanted}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"found {len(found)} characters; at most {ctx['max_length']} are allowed"
    if kind == "too_short":
        return f"found {ctx.get('actual_length')} item(s); at least {ctx['min_length']} are needed"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"found {describe(found)}; must be {'>=' if 'ge' in ctx else '>'} {bound}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "kfdef_rule":
        return str(ctx["message"])
    if kind == "recursion_loop":
        return "a YAML alias refers to itself; write the value out"
    return f"{err['msg'][:1].lower()}{err['msg'][1:]} (found {describe(found)})"


def _quote_hint(kind: str, found: Any) -> str:
    scalar = found.scalar if isinstance(found, Hidden) else isinstance(found, (bool, int, float, datetime.date))
    if kind == "string_type" and scalar:
        return "; quote the value so YAML reads it as text, e.g. \"1.10\" or \"true\""
    return ""


def _doc_of(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    model = annotation_at(root, loc[:-1])
    if isinstance(model, type) and issubclass(model, BaseModel):
        for name, info in model.model_fields.items():
            if (info.alias or name) == loc[-1] and info.description:
                return f" ({info.description.rstrip('.')})"
    return ""


def _unwrap(tp: Any) -> Any:
    """Strip ``Optional`` and ``Annotated`` to the type that holds the data."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def annotation_at(root: Any, loc: tuple[Any, ...]) -> Any:
    """The declared type at a YAML path (aliases, list indices), or None when unknown."""
    tp = _unwrap(root)
    for part in loc:
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {(f.alias or n): f for n, f in tp.model_fields.items()}
            tp = fields[part].annotation if part in fields else None
        elif origin is list and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
        tp = _unwrap(tp)
    return tp


def field_names(model: Any) -> list[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or n for n, f in model.model_fields.items()]
    return []


def literal_values(tp: Any) -> list[str]:
    return [str(v) for v in typing.get_args(tp)] if typing.get_origin(tp) is Literal else []
