"""Shared building blocks of the KfDef model: the base class and the small value types.

Every model forbids unknown keys, so a typo (``machinetype``) is an error that suggests the right
spelling instead of a silently ignored setting. Python names are snake_case; the YAML names are
their camelCase aliases, and files are validated by alias only (see ``kfdeploy.spec.load``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
QUANTITY = r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
_DNS_PREFIX = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
LABEL_KEY = "^" + _DNS_PREFIX + r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_HOST = r"[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*(:[0-9]+)?"
_REPO_COMPONENT = r"[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*"
REGISTRY = f"^{_HOST}(/{_REPO_COMPONENT})*$"

PATTERN_HINTS = {
    DNS_LABEL: "a DNS-1123 label: lowercase letters, digits and '-', starting and ending "
               "with a letter or digit, at most 63 characters",
    QUANTITY: "a Kubernetes quantity such as \"16\", \"500m\", \"64Gi\"",
    LABEL_KEY: "a Kubernetes label or taint key such as \"nvidia.com/gpu\"",
    ENV_NAME: "an environment variable name (letters, digits and '_', not starting with a digit)",
    REGISTRY: "a registry host with an optional port and path, such as \"registry.corp.example/kubeflow\""
              " (no scheme, path in lower case)",
}


class SpecModel(BaseModel):
    """Base of every KfDef model: camelCase YAML names, unknown keys rejected, no coercion
    of strings into numbers (``count: "3"`` is a mistake worth reporting)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        field_title_generator=lambda name, info: info.alias or name,
    )


def _number_to_text(value: Any) -> Any:
    """Quantities may be written as YAML numbers (``cpu: 16``); keep them as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


DnsLabel = Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
Quantity = Annotated[
    str,
    BeforeValidator(_number_to_text),
    Field(pattern=QUANTITY),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": QUANTITY},
                              {"type": "number", "minimum": 0}]}),
]
LabelKey = Annotated[str, Field(pattern=LABEL_KEY, max_length=317)]
Labels = dict[LabelKey, str]
NonNegative = Annotated[int, Field(ge=0)]
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class Taint(SpecModel):
    """A node taint; pods need a matching toleration to run on the node."""

    key: LabelKey = Field(description="Taint key, e.g. nvidia.com/gpu.")
    value: str = Field("", description="Taint value, e.g. present.")
    effect: TaintEffect = Field(description="NoSchedule, PreferNoSchedule or NoExecute.")

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


def rule_error(at: str, message: str) -> PydanticCustomError:
    """An error of a cross-field rule, placed at the sub-field ``at`` of the model it checks
    (``kfdeploy.spec.problems`` appends ``at`` to the field path)."""
    return PydanticCustomError("kfdef_rule", "{message}", {"message": message, "at": at})
