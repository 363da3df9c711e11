"""The JSON Schema of KfDef, generated from the model so it never drifts from validation.

Editors (yaml-language-server) and CI linters use it for completion and early checks; rules
across fields (min <= max, unique names, references) are only enforced by ``kfdeploy validate``.
A copy ships as ``kfdeploy/schema/kfdef.schema.json``; a unit test keeps it equal to this.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from kfdeploy.spec.model import KfDef


def kfdef_schema() -> dict[str, Any]:
    """The schema as a dict, YAML (camelCase) names, descriptions on every field."""
    body = KfDef.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}


def schema_text() -> str:
    return json.dumps(kfdef_schema(), indent=2, sort_keys=True) + "\n"


def shipped_schema_text() -> str:
    """The schema file packaged with kfdeploy."""
    return resources.files("kfdeploy").joinpath("schema/kfdef.schema.json").read_text("utf-8")
