"""Verbs about the spec itself: init, validate, schema, version."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfdeploy.errors import EXIT_BAD_INPUT, SpecError, UsageError
from kfdeploy.options import Options
from kfdeploy.render import check_applications
from kfdeploy.spec import KfDef, parse_text
from kfdeploy.spec.base import DNS_LABEL
from kfdeploy.spec.schema import schema_text
from kfdeploy.templates.starter import StarterOptions, starter_spec
from kfdeploy.workflow.session import load_spec

REQUIRED_FLAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "gke": (("project", "--project MY_GCP_PROJECT"), ("location", "--location us-central1-a")),
    "eks": (("region", "--region us-west-2"),),
    "existing": (("context", "--context MY_CONTEXT"),),
}


@dataclass(frozen=True)
class TextResult:
    """A result that is plain text (a spec, a schema) or a one-line note."""

    body: str
    data: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return self.body

    def to_data(self) -> dict[str, Any]:
        return self.data or {"text": self.body}


@dataclass(frozen=True)
class ValidateResult:
    file: str
    problems: tuple[str, ...] = ()
    spec: KfDef | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_BAD_INPUT if self.problems else 0

    def text(self) -> str:
        if self.problems or self.spec is None:
            return str(SpecError(self.file, list(self.problems)))
        s = self.spec
        apps = len(s.enabled_applications)
        disabled = len(s.spec.applications) - apps
        extra = f", {disabled} disabled" if disabled else ""
        return (f"{self.file}: valid KfDef {s.metadata.name!r} (platform {s.spec.platform.kind}, "
                f"{apps} application{'s' if apps != 1 else ''}{extra})")

    def to_data(self) -> dict[str, Any]:
        if self.problems or self.spec is None:
            return {"valid": False, "file": self.file, "problems": list(self.problems)}
        s = self.spec
        return {"valid": True, "file": self.file, "name": s.metadata.name,
                "namespace": s.metadata.namespace, "platform": s.spec.platform.kind,
                "version": s.spec.version,
                "applications": [a.name for a in s.enabled_applications],
                "disabled": [a.name for a in s.spec.applications if not a.enabled],
                "specHash": s.spec_hash()}


def init(opts: Options, platform_kind: str = "kwok", name: str = "kubeflow",
         project: str | None = None, location: str | None = None, region: str | None = None,
         gpus: int = 0, kube_context: str | None = None, output_file: str = "-",
         force: bool = False, manifests: str | None = None, verify: bool = True,
         with_options: tuple[str, ...] = ()) -> TextResult:
    """Write a commented starter spec; it is validated first, so it always loads."""
    starter = StarterOptions(platform=platform_kind, name=name, project=project,
                             location=location, region=region, gpus=gpus, context=kube_context)
    _check_init_flags(starter)
    file = "kfdef.yaml" if output_file == "-" else output_file
    note = ""
    if with_options and not manifests:
        raise UsageError("--with adds optional pieces of an official manifests release",
                         hint="use it with --manifests URI")
    if manifests:
        text, note = _manifests_spec(manifests, starter, file, verify, with_options)
    else:
        text = starter_spec(starter, file=file)
    parse_text(text, "starter spec", Path.cwd())
    if output_file == "-":
        return TextResult(text)
    out = Path(output_file)
    if out.exists() and not force:
        raise UsageError(f"{output_file} already exists; not overwriting it",
                         hint="pass --force to replace it, or choose another file with -o")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {output_file}: {e.strerror or e}") from e
    return TextResult(f"wrote {output_file} (platform {platform_kind}{note}); "
                      f"next: kfdeploy validate -f {output_file}",
                      {"file": output_file, "platform": platform_kind})


def _manifests_spec(uri: str, starter: StarterOptions, file: str, verify: bool,
                    options: tuple[str, ...] = ()) -> tuple[str, str]:
    """The spec for an official manifests release (render.release splits and checks it)."""
    from kfdeploy.render.fetch import stderr_report
    from kfdeploy.render.kustomize_pin import choose, release_tag
    from kfdeploy.render.release import split_release
    from kfdeploy.render.repos import RepoResolver
    from kfdeploy.spec import Repo
    from kfdeploy.templates.manifests import annotate, manifests_spec

    spec_dir = Path(file).resolve().parent
    local = not uri.startswith("https://")
    if local and not Path(uri).expanduser().is_absolute():  # the spec reads it relative to itself
        uri = os.path.relpath(Path(uri).expanduser().resolve(), spec_dir)
    repo = Repo(name="manifests", uri=uri)
    root = RepoResolver(spec_dir).root(repo)
    tool = choose(repo, root)
    stderr_report(f"rendering with {tool.describe()}")
    split = split_release(root, stderr_report, verify, tool.version, starter.platform, options)
    if split.check is not None and not split.check.ok:
        raise UsageError(f"the applications would not render what {uri}'s example renders:\n  - "
                         + "\n  - ".join(split.check.problems()[:20]),
                         hint="nothing was written; report the release layout, or pass --no-verify"
                              " and fix the applications by hand")
    checked = ", the same objects as kustomize build example" if split.check else ""
    note = f", {len(split.applications)} applications, {split.objects} objects{checked}"
    annotate(split.applications, split.chosen, starter.region)
    return manifests_spec(split.applications, uri, starter, file, tag=release_tag(uri, root),
                          offered=list(split.offered)), note


def _check_init_flags(o: StarterOptions) -> None:
    """Usage errors for what init cannot guess: cloud coordinates, a valid name, gpus >= 0."""
    if not re.fullmatch(DNS_LABEL, o.name) or len(o.name) > 63:
        raise UsageError(f"--name {o.name!r} is not a valid name: use lowercase letters, digits "
                         "and '-', starting and ending with a letter or digit (at most 63)")
    if o.gpus < 0:
        raise UsageError(f"--gpus {o.gpus}: the GPU count cannot be negative")
    missing = [flag for attr, flag in REQUIRED_FLAGS.get(o.platform, ()) if not getattr(o, attr)]
    if missing:
        raise UsageError(f"--platform {o.platform} needs {' and '.join(missing)}",
                         hint=f"kfdeploy init --platform {o.platform} {' '.join(missing)} -o kfdef.yaml")


def validate(opts: Options, render: bool = False) -> ValidateResult:
    """Check the spec, its applications and their params; with
    ``render``, also render everything offline (what build would reject: objects two
    applications render, objects of the wrong shape, jsonnet errors)."""
    try:
        spec = load_spec(opts.file)
        problems = check_applications(spec)
        if render and not problems:
            problems = _render_problems(spec)
    except SpecError as e:
        if opts.output == "text":
            raise
        return ValidateResult(opts.file, tuple(e.problems))
    if problems and opts.output == "text":
        raise SpecError(opts.file, problems)
    return ValidateResult(opts.file, tuple(problems), spec)


def validate_text(file: str, text: str) -> ValidateResult:
    """``validate`` of text not yet saved to ``file`` (the ui's editor): the same problems,
    named by the same file, with relative paths read from its folder."""
    try:
        spec = parse_text(text, file, Path(file).resolve().parent)
        problems = check_applications(spec)
    except SpecError as e:
        return ValidateResult(file, tuple(e.problems))
    return ValidateResult(file, tuple(problems), spec)


def _render_problems(spec: KfDef) -> list[str]:
    from kfdeploy.credentials import Credentials
    from kfdeploy.errors import RenderError
    from kfdeploy.render import render

    try:
        render(spec, credentials=Credentials.offline(masked=True))
    except RenderError as e:
        return [str(e)]
    return []


def schema(opts: Options, output_file: str | None = None) -> TextResult:
    """The KfDef JSON Schema, printed or written to a file."""
    text = schema_text()
    if not output_file or output_file == "-":
        return TextResult(text)
    try:
        Path(output_file).write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {output_file}: {e.strerror or e}") from e
    return TextResult(f"wrote {output_file}", {"file": output_file})


def version(opts: Options) -> TextResult:
    """kfdeploy's version, the local control-plane tool versions, and where those live."""
    import yaml

    from kfdeploy import __version__
    from kfdeploy.errors import ToolMissingError
    from kfdeploy.tools import tool_versions, tools_dir
    try:
        tools: dict[str, str] = {k.removesuffix("_VERSION").lower(): v for k, v in tool_versions().items()}
        tools["dir"] = str(tools_dir())
    except ToolMissingError:
        tools = {}
    data = {"kfdeploy": __version__, **({"tools": tools} if tools else {})}
    return TextResult(yaml.safe_dump(data, sort_keys=False), data)

