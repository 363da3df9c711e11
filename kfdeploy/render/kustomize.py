"""Applications backed by kustomize folders: ``kubectl kustomize <dir>`` into plain objects.

The kustomize built into the tools' kubectl renders each folder (an argument list, never a
shell). Renders are offline and reproducible: a kustomization that pulls a remote base
(``https://github.com/...``, ``github.com/org/repo//dir?ref=v1``) is refused before kustomize
runs, naming the kustomization file and the URL; kustomize's own remote-fetch errors map to the
same message for references that only kustomize resolves.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import RenderError
from kfdeploy.render.manifests import load_kyaml_documents
from kfdeploy.tools import find_tool, tool_env, tool_identity

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
REFERENCE_FIELDS = ("resources", "bases", "components", "generators", "transformers", "validators")
REMOTE = re.compile(r"^(https?://|git@|ssh://|git::|github\.com/|gitlab\.com/|bitbucket\.org/)"
                    r"|\?(ref|version|submodules|timeout)=|\.git(//|$)")
REMOTE_FAILURE = re.compile(r"(git (cmd|fetch|clone)|no 'git' program|fetching remote|"
                            r"HTTP request|dial tcp|lookup \S+ on|invalid source string)", re.I)
URL = re.compile(r"(https?://|git@)[^\s'\"]+")


def kustomization_file(folder: Path) -> Path | None:
    return next((folder / n for n in KUSTOMIZATION_FILES if (folder / n).is_file()), None)


def references(kfile: Path) -> Iterator[str]:
    """Entries of the fields that name other files or folders (unreadable files are kustomize's to report)."""
    try:
        data = yaml.load(kfile.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return
    if not isinstance(data, dict):
        return
    for field in REFERENCE_FIELDS:
        entries = data.get(field)
        yield from (e for e in (entries if isinstance(entries, list) else []) if isinstance(e, str))


def walk(folder: Path, read: Callable[[Path], Iterable[str]] = references) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Every kustomization folder reachable from ``folder`` through local references, and
    ``(kustomization file, url)`` of every remote reference met on the way; ``read`` gives a
    kustomization file's references."""
    found: list[tuple[Path, str]] = []
    seen: list[Path] = []
    todo = [folder.resolve()]
    while todo:
        current = todo.pop()
        kfile = kustomization_file(current)
        if current in seen or kfile is None:
            continue
        seen.append(current)
        for ref in read(kfile):
            if REMOTE.search(ref):
                found.append((kfile, ref))
            elif _is_dir(current / ref):
                todo.append((current / ref).resolve())
    return seen, found


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. an inline transformer config, too long for a file name
        return False


def remote_references(folder: Path) -> list[tuple[Path, str]]:
    """``(kustomization file, url)`` of every remote reference reachable from ``folder``."""
    return walk(folder)[1]


def renderer() -> str:
    """Which kustomize renders (the render cache keys on it): today the one built into the
    tools' kubectl, named by its file (path, size, modification time), so another binary or
    version renders again."""
    return "kubectl kustomize " + tool_identity(Path(find_tool("kubectl")))


def remote_error(app: str, kfile: Path | str, url: str) -> RenderError:
    return RenderError(f"application '{app}': {kfile} references the remote base {url}; kfdeploy"
                       " renders offline from spec.repos only",
                       hint="download that base (e.g. its release archive), and point the"
                            " kustomization at the local copy")


def build_failure(app: str, shown: str, message: str) -> RenderError:
    """kustomize's error, or the remote-base error when kustomize failed fetching a URL."""
    url = URL.search(message)
    if url and REMOTE_FAILURE.search(message):
        return remote_error(app, f"a kustomization under {shown}", url.group(0))
    return RenderError(f"application '{app}': kustomize build of {shown} failed: {message}",
                       hint="fix the kustomization; `kubectl kustomize <path>` shows the same error")


def build(app: str, folder: Path, shown: str, components: Sequence[Path] = ()) -> list[Any]:
    """The documents ``kubectl kustomize folder`` renders, with ``components`` applied (through
    a generated kustomization beside nothing of the user's); ``shown`` names the path in errors."""
    for where, field in [(folder, "path"), *((c, "components") for c in components)]:
        if not where.is_dir():
            raise RenderError(f"application '{app}': kustomize {field} {where if field != 'path' else shown}"
                              " is not a folder", hint=f"fix applications[].kustomize.{field}")
        if kustomization_file(where) is None:
            raise RenderError(f"application '{app}': kustomize {field} {where if field != 'path' else shown}"
                              " has no kustomization.yaml",
                              hint="point it at a folder holding a kustomization.yaml")
        remote = remote_references(where)
        if remote:
            raise remote_error(app, *remote[0])
    if not components:
        return _run(app, folder, shown)
    with tempfile.TemporaryDirectory(prefix="kfdeploy-kustomize-") as tmp:
        # kustomize accepts only relative references; an empty wrapper adds nothing of its own.
        wrapper = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                   "resources": [os.path.relpath(folder, tmp)],
                   "components": [os.path.relpath(c, tmp) for c in components]}
        (Path(tmp) / "kustomization.yaml").write_text(yaml.safe_dump(wrapper), encoding="utf-8")
        return _run(app, Path(tmp), shown)


def _run(app: str, folder: Path, shown: str) -> list[Any]:
    args = [find_tool("kubectl"), "kustomize", str(folder)]
    done = subprocess.run(args, capture_output=True, text=True, check=False, env=tool_env())
    if done.returncode != 0:
        raise build_failure(app, shown, done.stderr.strip() or done.stdout.strip())
    return load_kyaml_documents(done.stdout, f"kustomize application '{app}' ({shown})")
