"""Applications backed by a Helm chart: ``helm template`` into plain objects.

Helm is run as a binary with an argument list (never a shell string); the values go through a
temporary file so they never appear on a command line or in a process listing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping

import yaml

from kfdeploy.errors import RenderError, ToolMissingError

ENV_HELM = "KFDEPLOY_HELM"


def tools_key(versions_file: Path) -> str:
    """The tools directory name tools/build.sh uses, from tools/versions.env."""
    env: dict[str, str] = {}
    for line in versions_file.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            env[key] = value.strip().strip('"')
    return (f"kube-{env.get('KUBE_VERSION')}_etcd-{env.get('ETCD_VERSION')}"
            f"_kwok-{env.get('KWOK_VERSION')}_helm-{env.get('HELM_VERSION')}")


def tools_bin(repo_root: Path) -> Path:
    """Where tools/build.sh puts binaries (honours KFDEPLOY_TOOLS_DIR and XDG_CACHE_HOME)."""
    if os.environ.get("KFDEPLOY_TOOLS_DIR"):
        return Path(os.environ["KFDEPLOY_TOOLS_DIR"]) / "bin"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "kfdeploy" / "tools" / tools_key(repo_root / "tools" / "versions.env") / "bin"


def find_helm(repo_root: Path) -> Path:
    """$KFDEPLOY_HELM, then the built tools directory, then PATH."""
    candidates = [os.environ.get(ENV_HELM)]
    try:
        candidates.append(str(tools_bin(repo_root) / "helm"))
    except OSError:
        pass
    candidates.append(shutil.which("helm"))
    for c in candidates:
        if c and os.access(c, os.X_OK) and Path(c).is_file():
            return Path(c)
    raise ToolMissingError("helm is needed to render helm applications and was not found"
                           f" (looked at ${ENV_HELM}, the tools directory and PATH)",
                           hint="run `make tools` to build it, or set KFDEPLOY_HELM to a helm binary")


def chart_ref(chart: str, base_dir: Path) -> str:
    """A local chart path resolved against the spec's folder; a repo chart name unchanged."""
    local = Path(chart) if Path(chart).is_absolute() else base_dir / chart
    return str(local) if chart.startswith((".", "/")) or local.exists() else chart


def template_args(helm: Path, release: str, chart: str, namespace: str, values_files: list[str],
                  version: str | None, repo: str | None, kube_version: str | None) -> list[str]:
    args = [str(helm), "template", release, chart, "--namespace", namespace, "--include-crds"]
    for f in values_files:
        args += ["--values", f]
    if version:
        args += ["--version", version]
    if repo:
        args += ["--repo", repo]
    if kube_version:
        args += ["--kube-version", kube_version]
    return args


def split_stream(text: str, release: str) -> list[Any]:
    """Documents of a YAML stream, empty ones dropped."""
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise RenderError(f"helm application '{release}': helm printed invalid YAML: {e}") from e


def template(release: str, source: Any, namespace: str, base_dir: Path, repo_root: Path,
             values: Mapping[str, Any], kube_version: str | None = None) -> list[Any]:
    """Run ``helm template`` for one application and return its objects (unprocessed)."""
    helm = find_helm(repo_root)
    files = [str(f if Path(f).is_absolute() else Path(base_dir) / f) for f in source.values_files]
    with tempfile.TemporaryDirectory(prefix="kfdeploy-helm-") as tmp:
        values_file = Path(tmp) / "values.yaml"
        values_file.write_text(yaml.safe_dump(dict(values), sort_keys=True))
        values_file.chmod(0o600)
        args = template_args(helm, release, chart_ref(source.chart, Path(base_dir)), namespace,
                             files + [str(values_file)], source.version, source.repo, kube_version)
        done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RenderError(f"helm application '{release}': helm template failed:"
                          f" {done.stderr.strip() or done.stdout.strip()}",
                          hint="check helm.chart, helm.version and helm.values in the spec")
    return split_stream(done.stdout, release)
