"""The shipped JSON Schema equals the one generated from the model, and every example spec
(the root kfdef.yaml and every starter init writes) validates against it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kfdeploy.spec.schema import kfdef_schema, schema_text, shipped_schema_text
from kfdeploy.templates.starter import StarterOptions, starter_spec

ROOT = Path(__file__).resolve().parents[2]
PLATFORMS = ["gke", "eks", "kind", "minikube", "kwok", "existing"]


def examples() -> Iterator[tuple[str, str]]:
    yield "root-kfdef", (ROOT / "kfdef.yaml").read_text()
    for platform in PLATFORMS:
        for gpus in (0, 2):
            o = StarterOptions(platform=platform, project="p", location="us-central1-a",
                               region="us-west-2", context="ctx", gpus=gpus)
            yield f"init-{platform}-gpus{gpus}", starter_spec(o)


EXAMPLES = list(examples())


def test_shipped_schema_is_current() -> None:
    assert json.loads(shipped_schema_text()) == kfdef_schema(), (
        "kfdeploy/schema/kfdef.schema.json is stale: run `kfdeploy schema -o "
        "kfdeploy/schema/kfdef.schema.json`")
    assert shipped_schema_text() == schema_text()


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(kfdef_schema())


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for model, body in schema["$defs"].items():
        for name, prop in body.get("properties", {}).items():
            yield model, name, prop
    for name, prop in schema["properties"].items():
        yield "KfDef", name, prop


def test_every_field_has_a_description_and_a_camel_case_name() -> None:
    for model, name, prop in _properties(kfdef_schema()):
        assert prop.get("description"), f"{model}.{name} has no description"
        assert "_" not in name, f"{model}.{name} is not camelCase"


def test_schema_forbids_unknown_fields() -> None:
    schema = kfdef_schema()
    assert all(body.get("additionalProperties") is False for body in schema["$defs"].values()
               if body.get("type") == "object")


@pytest.mark.parametrize("text", [t for _, t in EXAMPLES], ids=[n for n, _ in EXAMPLES])
def test_example_validates_against_schema(text: str) -> None:
    jsonschema.validate(yaml.safe_load(text), kfdef_schema(),
                        cls=jsonschema.Draft202012Validator)


def test_schema_rejects_a_typo() -> None:
    data = yaml.safe_load((ROOT / "kfdef.yaml").read_text())
    data["spec"]["platform"]["kwok"]["nodepools"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, kfdef_schema(), cls=jsonschema.Draft202012Validator)
