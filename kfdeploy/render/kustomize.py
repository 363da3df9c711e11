"""Applications backed by kustomize folders: ``kubectl kustomize <dir>`` into plain objects.

kubectl's built-in kustomize, or the standalone kustomize version a release pins
(render.kustomize_pin chooses, ``command`` runs it), renders each folder (an argument list, never
a shell). kustomize never reaches the network: the remote bases and files a kustomization names
are fetched by kfdeploy first (``render.remote``: pinned in the lock, cached, confined), and
kustomize builds a temporary copy that names them by relative paths. It runs with every proxy
variable pointing at a closed port (``network_guard_env``), so a reference kfdeploy did not
resolve fails at once, mapped to the same clear error.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kfdeploy.errors import RenderError
from kfdeploy.render.manifests import load_kyaml_documents
from kfdeploy.render.remote import Folder, Mirror, has_remote, kustomization_file, walk
from kfdeploy.tools import find_tool, kustomize_binary, tool_env, tool_identity

if TYPE_CHECKING:
    from kfdeploy.render.repos import RepoResolver

REMOTE_FAILURE = re.compile(r"(git (cmd|fetch|clone)|no 'git' program|fetching remote|"
                            r"HTTP request|dial tcp|proxyconnect|lookup \S+ on|invalid source string)", re.I)
URL = re.compile(r"(https?://|git@)[^\s'\"]+", re.I)
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_closed: list[socket.socket] = []


def closed_port() -> int:
    """A loopback port bound by this process and never listened on: connecting is refused at once,
    and no other process can take it while kfdeploy runs."""
    if not _closed:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        _closed.append(sock)
    return int(_closed[0].getsockname()[1])


def network_guard_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the network closed to a child process: every proxy points at a refused port,
    nothing bypasses it, and git may use no protocol."""
    guarded = dict(env)
    proxy = f"http://127.0.0.1:{closed_port()}"
    guarded.update({var: proxy for var in PROXY_VARS})
    guarded.update({"NO_PROXY": "", "no_proxy": "", "GIT_ALLOW_PROTOCOL": "none",
                    "GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "false"})
    return guarded


def remote_error(app: str, kfile: Path | str, url: str) -> RenderError:
    return RenderError(f"application '{app}': {kfile} references {url}, which kfdeploy did not fetch;"
                       " kustomize may not reach the network",
                       hint="reference remote bases in resources/bases/components or patches paths"
                            " (kfdeploy fetches those), or copy the file into the repo")


def build_failure(app: str, shown: str, message: str) -> RenderError:
    """kustomize's error, or the remote-base error when kustomize failed fetching a URL."""
    url = URL.search(message)
    if url and REMOTE_FAILURE.search(message):
        return remote_error(app, f"a kustomization under {shown}", url.group(0))
    return RenderError(f"application '{app}': kustomize build of {shown} failed: {message}",
                       hint="fix the kustomization; `kubectl kustomize <path>` shows the same error")


def check_folder(app: str, where: Path, field: str, shown: str) -> None:
    named = shown if field == "path" else str(where)
    if not where.is_dir():
        raise RenderError(f"application '{app}': kustomize {field} {named} is not a folder",
                          hint=f"fix applications[].kustomize.{field}")
    if kustomization_file(where) is None:
        raise RenderError(f"application '{app}': kustomize {field} {named} has no kustomization.yaml",
                          hint="point it at a folder holding a kustomization.yaml")


def command(version: str | None = None) -> list[str]:
    """The argv that builds a folder (appended): kubectl's kustomize, or kustomize ``version``."""
    return [find_tool("kubectl"), "kustomize"] if version is None else [kustomize_binary(version), "build"]


def build(app: str, folder: Path, shown: str, components: Sequence[Path] = (),
          repos: RepoResolver | None = None, root: Path | None = None, version: str | None = None) -> list[Any]:
    """The documents kustomize ``version`` (None: kubectl's) renders from ``folder``, with
    ``components`` applied (through a generated kustomization beside nothing of the user's);
    ``shown`` names the path in errors.

    Local references must stay inside ``root`` (the repo) when it is given; remote ones are
    fetched through ``repos`` (a resolver without a lock file when None)."""
    with tempfile.TemporaryDirectory(prefix="kfdeploy-kustomize-") as tmp:
        folder, components = resolve(app, folder, shown, components, repos, root, Path(tmp))
        if not components:
            return _run(app, folder, shown, version)
        # kustomize accepts only relative references; an empty wrapper adds nothing of its own.
        wrapper_dir = Path(tmp) / "wrapper"
        wrapper_dir.mkdir()
        wrapper = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                   "resources": [os.path.relpath(folder, wrapper_dir)],
                   "components": [os.path.relpath(c, wrapper_dir) for c in components]}
        (wrapper_dir / "kustomization.yaml").write_text(yaml.safe_dump(wrapper), encoding="utf-8")
        return _run(app, wrapper_dir, shown, version)


def resolve(app: str, folder: Path, shown: str, components: Sequence[Path], repos: RepoResolver | None,
            root: Path | None, tmp: Path) -> tuple[Path, list[Path]]:
    """The folder and components to build: themselves when no remote reference is reachable
    from them, else their copies in ``tmp`` with every remote base fetched (``render.remote``)."""
    who = f"application '{app}'"
    walked: list[tuple[Path, list[Folder]]] = []
    for where, field in [(folder, "path"), *((c, "components") for c in components)]:
        check_folder(app, where, field, shown)
        walked.append((where, walk(where, root or inferred_root(where), who)))
    if not any(has_remote(folders) for _, folders in walked):
        return folder, list(components)
    from kfdeploy.render.repos import RepoResolver

    mirror = Mirror(tmp, repos or RepoResolver(Path.cwd()), who)
    anchor = root or inferred_root(folder) or Path("/")
    placed = [mirror.place(w, anchor, anchor, tmp / "tree", folders) for w, folders in walked]
    return placed[0], placed[1:]


def inferred_root(folder: Path) -> Path | None:
    """The tree of a repo cache entry holding ``folder`` (a downloaded archive is confined to
    itself even when the caller does not say so)."""
    from kfdeploy.render.repos import entry_of, tree_root

    entry = entry_of(folder)
    return tree_root(entry) if entry is not None else None


def _run(app: str, folder: Path, shown: str, version: str | None) -> list[Any]:
    args = [*command(version), str(folder)]
    done = subprocess.run(args, capture_output=True, text=True, check=False,
                          env=network_guard_env(tool_env()))
    if done.returncode != 0:
        raise build_failure(app, shown, done.stderr.strip() or done.stdout.strip())
    return load_kyaml_documents(done.stdout, f"kustomize application '{app}' ({shown})")


def renderer() -> str:
    """Which kustomize binary the render cache keys on: today the one built into the tools'
    kubectl, named by its file (path, size, modification time), so another binary or version
    renders again. The kustomize version chosen per repo is part of the key beside it."""
    return "kubectl kustomize " + tool_identity(Path(find_tool("kubectl")))
