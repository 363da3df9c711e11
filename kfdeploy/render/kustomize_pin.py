"""Which kustomize renders a repo's folders: the one the release was tested with.

kustomize changes what it renders between versions (5.8.1 reads a replacement's literal
``$(profile-name)`` selector as a regular expression, so Kubeflow v1.10/v1.11 render a Profile of
that name), and each kubeflow/manifests release pins the version its CI uses. The choice, first
match wins:

1. ``spec.repos[].kustomize.version`` (``kubectl`` names kubectl's built-in kustomize);
2. the pin in the release's own CI script (``PIN_SCRIPTS``);
3. the release's tag (from the repo URI or the archive's top folder) in ``tools/kustomize.env``;
4. kubectl's built-in kustomize.

A chosen version equal to kubectl's built-in one is run through kubectl: nothing to build.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kfdeploy.errors import ToolMissingError
from kfdeploy.tools import find_tool, kustomize_releases, tool_env

if TYPE_CHECKING:
    from kfdeploy.spec import Repo

BUILTIN = "kubectl"
PIN_SCRIPTS = ("tests/install_KinD_create_KinD_cluster_install_kustomize.sh",)
PIN = re.compile(r"(?:KUSTOMIZE_VERSION=[\"']?|kustomize(?:%2F|/)|kustomize_)(v\d+\.\d+\.\d+)\b")
URI_TAG = re.compile(r"/archive/(?:refs/tags/)?([^/]+?)\.(?:tar\.gz|tgz|zip)$")
FOLDER_TAG = re.compile(r"-(v?\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.]+)?)$")


@dataclass(frozen=True)
class KustomizeChoice:
    """A kustomize version (None: kubectl's built-in) and why it was chosen."""

    version: str | None
    reason: str

    def describe(self) -> str:
        tool = f"kustomize {self.version}" if self.version else "kubectl's built-in kustomize"
        return f"{tool} ({self.reason})"


DEFAULT = KustomizeChoice(None, "default")


def pinned_version(root: Path) -> tuple[str, str] | None:
    """``(version, script)`` from the release's CI script, if it has one that pins kustomize."""
    for script in PIN_SCRIPTS:
        try:
            found = PIN.search((root / script).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if found:
            return found.group(1), script
    return None


def release_tags(uri: str, root: Path | None) -> list[str]:
    """Tags the repo may be: from GitHub-style archive URLs, and the archive's top folder name."""
    tags = [m.group(1) for m in [URI_TAG.search(uri.split("?")[0])] if m]
    if root is not None:
        tags += [m.group(1) for m in [FOLDER_TAG.search(root.name)] if m]
    return tags


def release_tag(uri: str, root: Path | None) -> str | None:
    """The release's tag, spelled as tools/kustomize.env spells it when listed there."""
    tags = release_tags(uri, root)
    listed = table_version(tags, kustomize_releases())
    return listed[1] if listed else next(iter(tags), None)


def table_version(tags: list[str], table: dict[str, str]) -> tuple[str, str] | None:
    """The table's ``(version, release)`` for the first tag it knows (with or without a 'v')."""
    by_bare = {k.removeprefix("v"): (v, k) for k, v in table.items()}
    return next((by_bare[t.removeprefix("v")] for t in tags if t.removeprefix("v") in by_bare), None)


def choose(repo: Repo | None, root: Path | None) -> KustomizeChoice:
    """The kustomize for a repo's folders (``repo`` None: folders beside the spec)."""
    return through_kubectl(pick(repo, root))


def pick(repo: Repo | None, root: Path | None) -> KustomizeChoice:
    """The kustomize version a repo's folders ask for, before kubectl's built-in one stands in for
    it: what a vendor bundle carries, since the machine that imports it may have another kubectl."""
    if repo is None:
        return DEFAULT
    override = repo.kustomize.version if repo.kustomize else None
    if override:
        return KustomizeChoice(None if override == BUILTIN else override,
                               f"spec.repos '{repo.name}' kustomize.version")
    pinned = pinned_version(root) if root is not None else None
    if pinned:
        return KustomizeChoice(pinned[0], f"pinned by the release's {pinned[1]}")
    listed = table_version(release_tags(repo.uri, root), kustomize_releases())
    if listed:
        return KustomizeChoice(listed[0], f"release {listed[1]} in tools/kustomize.env")
    return DEFAULT


def through_kubectl(choice: KustomizeChoice) -> KustomizeChoice:
    """The choice run by kubectl when its built-in kustomize is that very version."""
    if choice.version is not None and choice.version == builtin_version():
        return KustomizeChoice(None, f"{choice.reason}: {choice.version}, as built into kubectl")
    return choice


@functools.lru_cache(maxsize=1)
def builtin_version() -> str | None:
    """kubectl's built-in kustomize version (``kubectl version --client``), None if unknown."""
    try:
        done = subprocess.run([find_tool("kubectl"), "version", "--client", "-o", "json"],
                              capture_output=True, text=True, check=False, env=tool_env(), timeout=30)
        version = json.loads(done.stdout).get("kustomizeVersion")
    except (ToolMissingError, OSError, subprocess.SubprocessError, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None
