"""Where the local control-plane binaries live and how to find them.

``tools/build.sh`` builds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd,
kwok, kwokctl and helm into a directory keyed by their versions (``tools/versions.env``), so
changing a version never mixes binaries. Every lookup can be overridden from the environment,
which is how users point kfdeploy at binaries they already have.

Standalone kustomize binaries live beside them as ``bin/kustomize-<version>``: a manifests
release renders with the kustomize its own CI pins (``tools/kustomize.env`` lists the versions of
the supported releases, which ``make tools`` builds); any other version is built on demand with
``go install`` from the Go module proxy, with progress on stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from kfdeploy.errors import ToolMissingError

VERSIONS_FILE = Path(__file__).resolve().parent.parent / "tools" / "versions.env"
KUSTOMIZE_FILE = VERSIONS_FILE.with_name("kustomize.env")
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
ENV_OFFLINE = "KFDEPLOY_OFFLINE"
_building: dict[str, threading.Lock] = {}
_building_lock = threading.Lock()
# Only these are commonly installed system-wide in a compatible version; the control-plane
# binaries must match each other, so they never come from PATH.
PATH_TOOLS = frozenset({"kubectl", "helm", "sops"})
BUILD_HINT = ("run `make tools` (needs Go >= 1.26) or set KFDEPLOY_TOOLS_DIR / {var}")


def parse_versions(text: str) -> dict[str, str]:
    """``KEY=value`` lines of a versions.env file; comments and blank lines are skipped."""
    versions: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip().strip("\"'")
    return versions


def tools_key(versions: Mapping[str, str]) -> str:
    """The cache directory name; must match the ``key`` computed by tools/build.sh."""
    return (f"kube-{versions['KUBE_VERSION']}_etcd-{versions['ETCD_VERSION']}"
            f"_kwok-{versions['KWOK_VERSION']}_helm-{versions['HELM_VERSION']}")


def tool_versions(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """The pinned tool versions, read from tools/versions.env."""
    try:
        return parse_versions(path.read_text())
    except OSError as e:
        raise ToolMissingError(
            f"cannot read the tool versions file {path}: {e.strerror}",
            hint="set KFDEPLOY_TOOLS_DIR to a directory whose bin/ holds the tools") from e


def tools_dir(env: Mapping[str, str] | None = None) -> Path:
    """KFDEPLOY_TOOLS_DIR, else the versioned cache directory tools/build.sh writes to."""
    env = os.environ if env is None else env
    if env.get("KFDEPLOY_TOOLS_DIR"):
        return Path(env["KFDEPLOY_TOOLS_DIR"]).expanduser()
    return cache_folder("tools", None, env) / tools_key(tool_versions())


def cache_folder(name: str, override: str | None, env: Mapping[str, str] | None = None) -> Path:
    """$<override>, else ``$XDG_CACHE_HOME`` or ``~/.cache``, then ``kfdeploy/<name>``."""
    env = os.environ if env is None else env
    if override and env.get(override):
        return Path(env[override]).expanduser()
    base = Path(env.get("XDG_CACHE_HOME") or Path(env.get("HOME") or Path.home()) / ".cache")
    return base / "kfdeploy" / name


def offline(env: Mapping[str, str] | None = None) -> bool:
    """``KFDEPLOY_OFFLINE`` (``kfdeploy --offline``): download nothing, not even a tool's sources."""
    return (os.environ if env is None else env).get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes")


def tool_env_var(name: str) -> str:
    """``kube-apiserver`` -> ``KFDEPLOY_KUBE_APISERVER_BINARY``."""
    return f"KFDEPLOY_{name.upper().replace('-', '_')}_BINARY"


def find_tool(name: str, env: Mapping[str, str] | None = None) -> str:
    """Path of an executable: its env override, else the tools dir, else PATH (kubectl, helm).

    Raises ToolMissingError naming the tool, where it looked, and how to get it.
    """
    env = os.environ if env is None else env
    var = tool_env_var(name)
    override = env.get(var)
    if override:
        if _is_executable(Path(override)):
            return override
        raise ToolMissingError(f"{name} not found: {var}={override} is not an executable file",
                               hint=f"fix or unset {var}")
    candidate = tools_dir(env) / "bin" / name
    if _is_executable(candidate):
        return str(candidate)
    if name in PATH_TOOLS:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    where = f"{candidate}" + (" or on PATH" if name in PATH_TOOLS else "")
    raise ToolMissingError(f"{name} not found in {where}", hint=BUILD_HINT.format(var=var))


def tool_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment with the tools bin dir first on PATH.

    kwokctl looks up kubectl on PATH, so child processes must see the built one first.
    """
    env = dict(os.environ if env is None else env)
    bin_dir = str(tools_dir(env) / "bin")
    env["PATH"] = os.pathsep.join(p for p in (bin_dir, env.get("PATH", "")) if p)
    return env


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def tool_identity(path: Path) -> str:
    """A tool's file as the render cache tells binaries apart: resolved path, size and
    modification time (a rebuilt or upgraded tool is another one)."""
    real = path.resolve()
    try:
        st = real.stat()
    except OSError as e:
        raise ToolMissingError(f"cannot read {path}: {e.strerror}") from e
    return f"{real} {st.st_size} {st.st_mtime_ns}"


def kustomize_releases(path: Path = KUSTOMIZE_FILE) -> dict[str, str]:
    """Release tag -> the kustomize version its CI pins, from tools/kustomize.env (empty if absent)."""
    try:
        return parse_versions(path.read_text())
    except OSError:
        return {}


def kustomize_path(version: str, env: Mapping[str, str] | None = None) -> Path:
    """Where the standalone kustomize ``version`` lives (built or not)."""
    return tools_dir(env) / "bin" / f"kustomize-{version}"


def kustomize_install_command(version: str) -> str:
    return f"go install {KUSTOMIZE_MODULE}@{version}"


def kustomize_binary(version: str, report: Callable[[str], None] | None = None,
                     env: Mapping[str, str] | None = None) -> str:
    """Path of the standalone kustomize ``version``, built into the tools dir first if missing.

    Builds once per version, also when several renders ask at the same time. Offline, without
    Go, with ``GOPROXY=off`` or when the build fails, raises ToolMissingError naming the version, where
    the binary belongs and how to get it.
    """
    env = os.environ if env is None else env
    target = kustomize_path(version, env)
    if _is_executable(target):
        return str(target)
    with _building_lock:
        lock = _building.setdefault(str(target), threading.Lock())
    with lock:
        if not _is_executable(target):
            _build_kustomize(version, target, report or _stderr, env)
    return str(target)


def _kustomize_missing(version: str, target: Path, why: str) -> ToolMissingError:
    return ToolMissingError(
        f"kustomize {version} is needed and not built ({target}): {why}",
        hint=f"run `make tools` (it builds the versions of tools/kustomize.env), or on a machine with"
             f" Go and network: GOBIN=DIR {kustomize_install_command(version)} and copy DIR/kustomize"
             f" to {target}; offline, `kfdeploy vendor --import` a bundle written for this spec installs it")


def _build_kustomize(version: str, target: Path, report: Callable[[str], None], env: Mapping[str, str]) -> None:
    if offline(env):
        raise _kustomize_missing(version, target, f"kfdeploy is offline ({ENV_OFFLINE} / --offline)")
    go = shutil.which("go", path=env.get("PATH"))
    if go is None:
        raise _kustomize_missing(version, target, "the Go toolchain is not on PATH to build it")
    if env.get("GOPROXY", "").strip() == "off":
        raise _kustomize_missing(version, target, "GOPROXY=off (offline), so it cannot be downloaded")
    report(f"building kustomize {version} ({kustomize_install_command(version)}; about 30 s, once)")
    started = time.monotonic()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kustomize-", dir=target.parent) as gobin:
        build_env = {**env, "GOBIN": gobin, "CGO_ENABLED": "0"}
        done = subprocess.run([go, "install", "-trimpath", f"{KUSTOMIZE_MODULE}@{version}"],
                              capture_output=True, text=True, check=False, env=build_env)
        if done.returncode != 0:
            tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise _kustomize_missing(version, target, f"go install failed: {tail}")
        os.replace(Path(gobin) / "kustomize", target)
    report(f"built kustomize {version} in {time.monotonic() - started:.0f} s: {target}")


def _stderr(text: str) -> None:
    print(f"kfdeploy: {text}", file=sys.stderr, flush=True)
