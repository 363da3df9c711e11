"""Where platforms keep the kubeconfigs they write: ``~/.kube/kfdeploy-<name>.yaml`` (never the
user's ~/.kube/config), owner-only because they hold credentials. ``KFDEPLOY_KUBECONFIG_DIR``
moves the directory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

KUBECONFIG_DIR_VAR = "KFDEPLOY_KUBECONFIG_DIR"


def kubeconfig_file(name: str, directory: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The kubeconfig path of cluster ``name``; ``directory`` (tests) wins over the env var."""
    env = os.environ if env is None else env
    if directory is None:
        configured = env.get(KUBECONFIG_DIR_VAR)
        home = Path(env.get("HOME") or Path.home())
        directory = Path(configured).expanduser() if configured else home / ".kube"
    return directory / f"kfdeploy-{name}.yaml"


def write_private(path: Path, text: str) -> None:
    """Write atomically, readable only by the owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    tmp.replace(path)
