"""Verbs that render without touching a cluster: build, show, components.

Output is byte-for-byte deterministic so ``build`` output can be committed and diffed: keys
keep the renderer's canonical order, multi-line strings are literal blocks, lines never wrap.
Credentials never reach the output: generated ones and ``spec.secrets`` values are placeholders
(``<generated:auth.cookieSecret>``, ``<secret:NAME>``); apply fills them in from the cluster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import UsageError
from kfdeploy.library import Library
from kfdeploy.options import Options
from kfdeploy.render import Rendered
from kfdeploy.render.adjust import Adjustment, report_data, report_lines
from kfdeploy.workflow.session import render_session

HEADER = "# Rendered by kfdeploy build; do not edit (edit the spec and run build again).\n"


# libyaml's emitter: the pure-Python one took 20 of the 31 s that `build` spent on a 12 MB
# kustomize input (bench/large_input.py).
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class StreamDumper(_Dumper):  # type: ignore[valid-type,misc]
    """Block style, no line wrapping, multi-line strings as ``|`` blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


StreamDumper.add_representer(str, _str)


def yaml_stream(objects: Iterable[dict[str, Any]]) -> str:
    """A ``---`` separated YAML stream."""
    return yaml.dump_all(list(objects), Dumper=StreamDumper, sort_keys=False,
                         default_flow_style=False, width=1 << 30, explicit_start=True)


def load(opts: Options, only: Iterable[str] = ()) -> Rendered:
    from kfdeploy.workflow.session import load_spec

    return render_session(opts, load_spec(opts.file), only=only, masked=True).render()


@dataclass(frozen=True)
class BuildResult:
    directory: str
    files: list[tuple[str, str, int]]  # (application, file name, objects)
    removed: list[str]
    adjustments: list[Adjustment] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)  # application -> the kustomize that rendered it
    verbose: int = 0

    def to_data(self) -> dict[str, Any]:
        return {"directory": self.directory,
                "applications": [{"name": a, "file": f, "objects": n,
                                  **({"renderedWith": self.tools[a]} if a in self.tools else {})}
                                 for a, f, n in self.files],
                "objects": sum(n for _, _, n in self.files), "removed": self.removed,
                "adjustments": report_data(self.adjustments)}

    def text(self) -> str:
        total = sum(n for _, _, n in self.files)
        lines = [f"{f}  {n} object(s)" + (f"  [{self.tools[a]}]" if self.verbose and a in self.tools else "")
                 for a, f, n in self.files]
        lines += [f"removed stale {f}" for f in self.removed]
        lines += report_lines(self.adjustments, self.verbose)
        lines.append(f"built {len(self.files)} application(s), {total} object(s) into {self.directory}/")
        return "\n".join(lines)


def file_names(names: list[str]) -> list[str]:
    """``NN-<app>.yaml`` in apply order, zero-padded so ``ls`` lists them in that order."""
    width = max(2, len(str(len(names))))
    return [f"{i + 1:0{width}d}-{n}.yaml" for i, n in enumerate(names)]


def stale_files(directory: Path, keep: set[str]) -> list[Path]:
    """Files an earlier build wrote (they start with HEADER) that this build does not; links
    are never followed, so nothing outside the directory is read or removed."""
    return sorted(p for p in directory.glob("*.yaml") if p.name not in keep and not p.is_symlink()
                  and p.is_file() and p.read_text(errors="replace").startswith(HEADER))


def _output_dir(directory: Path) -> None:
    """Create the output directory, or say plainly why it cannot be one."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError as e:
        raise UsageError(f"-d {directory}: is a file, not a directory",
                         hint="choose another directory with -d (build writes one file per application)") from e
    except OSError as e:
        raise UsageError(f"-d {directory}: cannot create the directory: {e.strerror or e}") from e


def write_inside(directory: Path, name: str, content: str) -> None:
    """Write ``directory/name`` as a regular file: a symbolic link there is replaced, never
    followed, so a build never writes outside its directory. Unchanged files are left alone."""
    target = directory / name
    if target.is_symlink():
        target.unlink()
    elif target.is_file() and target.read_text(errors="replace") == content:
        return
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(content)


def build(opts: Options, out_dir: str = "build") -> BuildResult:
    """Render every application into DIR/NN-<app>.yaml and remove files of earlier builds."""
    directory = Path(out_dir)
    _output_dir(directory)
    rendered = load(opts)
    names = file_names(rendered.names())
    try:
        for name, app in zip(names, rendered.applications, strict=True):
            write_inside(directory, name, HEADER + yaml_stream(app.objects))
        removed = stale_files(directory, set(names))
        for path in removed:
            path.unlink()
    except OSError as e:
        raise UsageError(f"-d {out_dir}: cannot write the build: {e.strerror or e}") from e
    files = [(a.name, n, len(a.objects)) for n, a in zip(names, rendered.applications, strict=True)]
    return BuildResult(str(directory), files, [p.name for p in removed], rendered.adjustments,
                       tool_names(rendered), opts.verbose)


def tool_names(rendered: Rendered) -> dict[str, str]:
    """Application -> which kustomize rendered it (kustomize applications only)."""
    return {a.name: a.tool for a in rendered.applications if a.tool}


def report_tools(rendered: Rendered, verbose: int, line: Callable[[str], None]) -> Rendered:
    """With -v, one progress line per kustomize application naming the kustomize that rendered it."""
    for name, tool in tool_names(rendered).items() if verbose else ():
        line(f"{name}: rendered with {tool}")
    return rendered


@dataclass(frozen=True)
class ShowResult:
    objects: list[dict[str, Any]]

    def to_data(self) -> list[dict[str, Any]]:
        return self.objects

    def text(self) -> str:
        return yaml_stream(self.objects)

    def yaml_text(self) -> str:
        return yaml_stream(self.objects)


def show(opts: Options, applications: tuple[str, ...] = ()) -> ShowResult:
    """The rendered objects of all (or the named) applications, in apply order."""
    return ShowResult(load(opts, applications).objects)


@dataclass(frozen=True)
class ComponentsResult:
    library: Library

    def to_data(self) -> list[dict[str, Any]]:
        return [{"name": c.name, "description": c.description, "enabledByDefault": c.enabled_by_default,
                 "dependsOn": list(c.depends_on),
                 "params": {p.name: {"type": p.type, "default": p.default, "doc": p.doc}
                            for p in c.params.values()}}
                for c in self.library.components.values()]

    def text(self) -> str:
        blocks = []
        for c in self.library.components.values():
            flags = "enabled by default" if c.enabled_by_default else "opt-in"
            deps = f"; depends on {', '.join(c.depends_on)}" if c.depends_on else ""
            lines = [f"{c.name} ({flags}{deps})", f"  {' '.join(c.description.split())}"]
            lines += [f"    {p.name} ({p.type}, default {json.dumps(p.default)}): {p.doc}"
                      for p in c.params.values()]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


def components(opts: Options) -> ComponentsResult:
    """The component library with each component's params."""
    return ComponentsResult(Library.load())

