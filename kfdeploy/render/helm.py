"""Applications backed by a Helm chart: ``helm template`` into plain objects.

Helm is run as a binary with an argument list (never a shell string); the values go through a
temporary file so they never appear on a command line or in a process listing.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from kfdeploy.errors import RenderError, ToolMissingError
from kfdeploy.render.manifests import load_documents
from kfdeploy.tools import find_tool

ENV_HELM = "KFDEPLOY_HELM"


def find_helm() -> Path:
    """$KFDEPLOY_HELM, else what ``kfdeploy.tools`` finds (tools directory, then PATH)."""
    override = os.environ.get(ENV_HELM)
    if override:
        if Path(override).is_file() and os.access(override, os.X_OK):
            return Path(override)
        raise ToolMissingError(f"helm not found: {ENV_HELM}={override} is not an executable file",
                               hint=f"fix or unset {ENV_HELM}, or run `make tools` to build helm")
    return Path(find_tool("helm"))


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
    return load_documents(text, f"helm application '{release}': helm")


def template(release: str, source: Any, namespace: str, base_dir: Path,
             values: Mapping[str, Any], kube_version: str | None = None) -> list[Any]:
    """Run ``helm template`` for one application and return its objects (unprocessed)."""
    helm = find_helm()
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
