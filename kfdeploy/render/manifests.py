"""YAML streams printed by the tools kfdeploy runs (helm, kustomize), parsed into documents.

libyaml's C loader parsed the official release's 10 MB example build in 2.4 s, against 21.8 s
for the pure-Python loader (docs/render.md); the pure loader is the fallback where PyYAML was
built without libyaml.
"""

from __future__ import annotations

from typing import Any

import yaml

from kfdeploy.errors import RenderError

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_documents(text: str, source: str) -> list[Any]:
    """Documents of a YAML stream, empty ones dropped; ``source`` names the producer in errors."""
    try:
        return [d for d in yaml.load_all(text, Loader=Loader) if d is not None]
    except yaml.YAMLError as e:
        raise RenderError(f"{source}: printed invalid YAML: {e}") from e
