"""The kustomize binaries a vendor bundle carries, so an air-gapped machine renders each release
with the kustomize its CI pins instead of building it (a build needs the Go module proxy).

``wanted`` lists the versions the spec's kustomize applications ask for (``kustomize_pin.pick``:
the version itself, even where this machine's kubectl has it built in, since the importing
machine may have another kubectl) and any the user names. ``carry`` finds each in the tools dir,
building a missing one with progress or failing with the ``go install`` command. The bundle
records each binary with its version, the os/arch of the machine that wrote it and its sha256,
and stores the bytes as ``kfdeploy-vendor/tools/<sha256>``.

``install`` puts a verified binary where renders look for it (``tools.kustomize_path``). The
destination is made from the checked version, never from a member name, so nothing in a bundle
can write outside the tools dir.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kfdeploy.errors import RenderError, UsageError
from kfdeploy.render import kustomize_pin
from kfdeploy.render.repos import RepoResolver, file_digest
from kfdeploy.spec import KfDef
from kfdeploy.tools import kustomize_binary, kustomize_path

NAME = "kustomize"
VERSION = re.compile(r"^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$")
WORD = re.compile(r"^[a-z0-9_]{1,32}$")
DIGEST = re.compile(r"^[0-9a-f]{64}$")
# platform.machine() spellings -> Go's GOARCH, the names kustomize releases are published under.
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
          "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def host() -> str:
    """This machine's ``os/arch`` as Go names them (``linux/amd64``): what a binary built here runs on."""
    machine = platform.machine().lower()
    return f"{platform.system().lower()}/{ARCHES.get(machine, machine)}"


def check_version(version: str) -> str:
    """A kustomize version as ``--kustomize`` accepts it (``v5.7.1``)."""
    if not VERSION.match(version):
        raise UsageError(f"--kustomize {version!r} is not a kustomize version",
                         hint="give one like v5.7.1 (the tags of sigs.k8s.io/kustomize/kustomize/v5)")
    return version


def wanted(spec: KfDef, repos: RepoResolver, extra: Iterable[str] = ()) -> dict[str, list[str]]:
    """kustomize version -> the enabled applications that render with it (none: asked for by name)."""
    versions: dict[str, list[str]] = {check_version(v): [] for v in extra}
    for app in spec.enabled_applications:
        named = app.kustomize.repo if app.kustomize else None
        repo = next((r for r in spec.spec.repos if r.name == named), None)
        if repo is None:
            continue
        version = kustomize_pin.pick(repo, repos.root(repo)).version
        if version is not None:
            versions.setdefault(version, []).append(app.name)
    return versions


def carry(versions: dict[str, list[str]], report: Callable[[str], None]) -> list[tuple[dict[str, Any], Path]]:
    """Each version's bundle entry and binary, built first where missing (ToolMissingError when it
    cannot be: the message gives the ``go install`` command)."""
    where = host()
    carried = []
    for version, apps in sorted(versions.items()):
        binary = Path(kustomize_binary(version, report))
        carried.append(({"name": NAME, "version": version, "platform": where, "sha256": file_digest(binary),
                         "applications": apps}, binary))
    return carried


def check(tools: Any, who: str) -> list[dict[str, Any]]:
    """The index's ``tools`` list, each entry's fields checked (a bad one is refused, named)."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise RenderError(f"{who}: tools is not a list", hint="give a file `kfdeploy vendor -o` wrote")
    for i, t in enumerate(tools):
        parts = str(t.get("platform", "")).split("/") if isinstance(t, dict) else []
        if not (isinstance(t, dict) and t.get("name") == NAME and VERSION.match(str(t.get("version", "")))
                and len(parts) == 2 and all(WORD.match(p) for p in parts) and DIGEST.match(str(t.get("sha256", "")))):
            raise RenderError(f"{who}: tools[{i}] is not a kustomize binary entry (name, version, platform"
                              f" os/arch, sha256)", hint="give a file `kfdeploy vendor -o` wrote")
    return tools


def refuse_foreign(tools: list[dict[str, Any]], who: str) -> None:
    """Refuse, before anything is imported, binaries built for another os/arch than this machine's."""
    here = host()
    for t in tools:
        if t["platform"] != here:
            raise RenderError(
                f"{who} carries kustomize {t['version']} for {t['platform']}; this machine is {here}",
                hint=f"write the bundle with `kfdeploy vendor -o` on a {here} machine, or put a {here}"
                     f" kustomize {t['version']} at {kustomize_path(t['version'])}")


def install(tool: dict[str, Any], blob: Path) -> dict[str, Any]:
    """Put the verified ``blob`` at the tools dir path of its version, executable, atomically.

    Returns the entry with its ``path`` and what happened (``installed``; ``present``: the same
    bytes were there; ``kept``: another build of that version was there and stays).
    """
    target = kustomize_path(tool["version"])
    if target.is_file() and os.access(target, os.X_OK):
        kept = "present" if file_digest(target) == tool["sha256"] else "kept"
        return {**tool, "installed": kept, "path": str(target)}
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, blob.open("rb") as src:
            shutil.copyfileobj(src, out)
        os.chmod(name, 0o755)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return {**tool, "installed": "installed", "path": str(target)}
