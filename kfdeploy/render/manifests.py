"""YAML streams printed by the tools kfdeploy runs (helm, kustomize), parsed into documents.

libyaml's C loader parsed the official release's 10 MB example build in 2.4 s, against 21.8 s
for the pure-Python loader (docs/render.md); the pure loader is the fallback where PyYAML was
built without libyaml. kustomize's output goes through yaml-rs (Rust) first, 5-9x faster again
(bench/large_input.py): kustomize prints through kyaml, which quotes every string that YAML 1.1
would read as something else (yes/on, 0755, dates), so the YAML 1.2 reading is the same one; it
gave identical documents for the official 1.10.2 build. Anything yaml-rs refuses is read by
PyYAML, whose messages the errors keep.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import yaml

from kfdeploy.errors import RenderError

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

yaml_rs: ModuleType | None
try:
    import yaml_rs
except ImportError:  # optional speed-up; PyYAML reads everything alone
    yaml_rs = None


def load_documents(text: str, source: str) -> list[Any]:
    """Documents of a YAML stream, empty ones dropped; ``source`` names the producer in errors."""
    try:
        return [d for d in yaml.load_all(text, Loader=Loader) if d is not None]
    except yaml.YAMLError as e:
        raise RenderError(f"{source}: printed invalid YAML: {e}") from e


def load_kyaml_documents(text: str, source: str) -> list[Any]:
    """``load_documents`` for YAML that kustomize (kyaml) printed."""
    if yaml_rs is not None:
        try:
            docs = yaml_rs.loads(text, parse_datetime=False)  # quoted dates stay strings
        except ValueError:  # PyYAML reads it again and words the error
            pass
        else:
            return [d for d in (docs if isinstance(docs, list) else [docs]) if d is not None]
    return load_documents(text, source)
