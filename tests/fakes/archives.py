"""Source archives for tests: a kustomization's text and a .tar.gz of files under one top folder
(as GitHub serves a tag's archive)."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import yaml


def kustomization(*resources: str, **more: Any) -> str:
    return yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                           "resources": list(resources), **more})


def tarball(top: str, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
