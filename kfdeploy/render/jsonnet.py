"""Jsonnet evaluation behind one small interface: ``evaluate(main_file, params, jpath)``.

Three evaluators share the ``_jsonnet`` Python API (``evaluate_file(filename, jpathdir=...,
tla_codes=...)`` returning JSON text): ``rjsonnet`` (Rust), ``jsonnet`` (C++) and ``gojsonnet``.
``rjsonnet`` is the default: it rendered the whole component library several times faster
than the others (numbers in docs/render.md, measured by bench/evaluators.py). Errors become a
RenderError naming the jsonnet file:line; when the chosen evaluator's message has no location
(rjsonnet omits it for some runtime errors), another installed evaluator is asked once for a
located message, since the error path is not the hot path. User jsonnet (``jsonnet: {path}``
applications, ``postRender`` files) runs in a forked child bounded in time, memory and native
stack (``render.bounded``); the component library is trusted and evaluated in-process, so it
renders as fast as before (gojsonnet, whose Go runtime cannot run in a forked child, always
evaluates in-process).
"""

from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfdeploy.errors import RenderError
from kfdeploy.render import bounded

ENGINE_MODULES = {"rjsonnet": "rjsonnet", "jsonnet": "_jsonnet", "gojsonnet": "_gojsonnet"}
UNFORKABLE = {"gojsonnet"}  # the Go runtime hangs in a forked child: evaluated in-process, unbounded
DEFAULT_ENGINE = "rjsonnet"
LOCATE_ORDER = ("gojsonnet", "jsonnet", "rjsonnet")  # fastest first; see docs/render.md
ENV_ENGINE = "KFDEPLOY_JSONNET"
LOCATION = re.compile(r"(?P<file>[^\s:]+\.(?:jsonnet|libsonnet|json)):(?P<line>\d+)(?::(?P<col>\d+))?")
PREFIX = re.compile(r"^(RUNTIME ERROR|STATIC ERROR|runtime error|syntax error|type error):\s*", re.I)



class JsonnetError(RenderError):
    """A jsonnet evaluation failed; ``location`` is 'file:line' when known."""

    def __init__(self, summary: str, location: str | None, detail: str) -> None:
        where = f"{location}: " if location else ""
        super().__init__(f"{where}{summary}")
        self.summary = summary
        self.location = location
        self.detail = detail


@dataclass(frozen=True)
class Engine:
    name: str
    module: Any

    def run(self, main_file: Path, tla_codes: dict[str, str], jpath: list[Path], trusted: bool = False) -> str:
        """The JSON text of ``main_file``, evaluated in a bounded child process (render.bounded)
        unless it is ``trusted`` (the component library: in-process, as fast as it can be)."""
        args = (self.module.__name__, str(main_file), [str(p) for p in jpath], tla_codes)
        if trusted or self.name in UNFORKABLE:
            return _evaluate_file(*args)
        return str(bounded.run(_evaluate_file, *args))


def _evaluate_file(module: str, main_file: str, jpath: list[str], tla_codes: dict[str, str]) -> str:
    evaluator = importlib.import_module(module)
    return str(evaluator.evaluate_file(main_file, jpathdir=jpath, tla_codes=tla_codes))


def available_engines() -> dict[str, Engine]:
    """Installed evaluators by name, in preference order."""
    engines: dict[str, Engine] = {}
    for name, module in ENGINE_MODULES.items():
        try:
            engines[name] = Engine(name, importlib.import_module(module))
        except ImportError:
            continue
    return engines


def engine(name: str | None = None) -> Engine:
    """The evaluator to use: ``name``, else $KFDEPLOY_JSONNET, else rjsonnet."""
    name = name or os.environ.get(ENV_ENGINE) or DEFAULT_ENGINE
    if name not in ENGINE_MODULES:
        raise RenderError(f"unknown jsonnet evaluator '{name}'; choose one of: {', '.join(ENGINE_MODULES)}")
    engines = available_engines()
    if name not in engines:
        raise RenderError(f"jsonnet evaluator '{name}' is not installed",
                          hint=f"pip install {name}, or unset {ENV_ENGINE}")
    return engines[name]


def relative(path: str) -> str:
    """A path as the user best recognises it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def parse_error(message: str) -> tuple[str, str | None]:
    """(summary, 'file:line') from an evaluator's error text; the first location is the
    innermost frame, which is where the mistake usually is."""
    match = LOCATION.search(message)
    location = f"{relative(match['file'])}:{match['line']}" if match else None
    first = message.strip().splitlines()[0] if message.strip() else "jsonnet evaluation failed"
    return PREFIX.sub("", LOCATION.sub("", first)).strip(" :\t") or first, location


def locate(main_file: Path, tla_codes: dict[str, str], jpath: list[Path], failed: str) -> str | None:
    """Ask another installed evaluator where the error is, for messages without a location."""
    engines = available_engines()
    for other in (engines[n] for n in LOCATE_ORDER if n in engines and n != failed):
        try:
            other.run(main_file, tla_codes, jpath)
        except RuntimeError as e:
            return parse_error(str(e))[1]
        except bounded.LimitExceeded:
            return None
        return None
    return None


def evaluate(main_file: Path, params: dict[str, Any], jpath: list[Path], engine_name: str | None = None,
             trusted: bool = False) -> Any:
    """Evaluate ``main_file`` (a function of ``params``) and return the parsed JSON value."""
    return call(main_file, {"params": params}, jpath, engine_name, trusted)


def call(main_file: Path, args: dict[str, Any], jpath: list[Path], engine_name: str | None = None,
         trusted: bool = False) -> Any:
    """Evaluate ``main_file``, a function whose named arguments are ``args`` (as JSON); bounded
    in time, memory and stack unless ``trusted`` (the component library kfdeploy ships)."""
    eng = engine(engine_name)
    tla_codes = {name: json.dumps(value, sort_keys=True) for name, value in args.items()}
    try:
        text = eng.run(main_file, tla_codes, jpath, trusted)
    except RuntimeError as e:
        summary, location = parse_error(str(e))
        if location is None:
            location = locate(main_file, tla_codes, jpath, eng.name)
        raise JsonnetError(summary, location, str(e)) from e
    except bounded.LimitExceeded as e:
        raise RenderError(str(e), hint=f"{relative(str(main_file))} may recurse or loop without end") from e
    return json.loads(text)
