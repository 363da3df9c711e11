"""Options shared by every verb, as one frozen value passed from the CLI to the workflow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Output = Literal["text", "json", "yaml"]


@dataclass(frozen=True)
class Options:
    file: str = "kfdef.yaml"
    kubeconfig: str | None = None
    context: str | None = None
    output: Output = "text"
    verbose: int = 0
    yes: bool = False
    dry_run: bool = False
