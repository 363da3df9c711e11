"""Bounds on what kfdeploy reads and evaluates, each with the environment variable that raises it.

Hostile or careless input (a YAML alias bomb, a jsonnet loop that never ends) must fail fast
with an error that names the limit and how to raise it, instead of eating the machine. The
limits are data, here and in the README ("What apply guarantees"); code asks ``value(LIMIT)``
and words its error with ``exceeded(LIMIT, what)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """One bound: its default, the variable that overrides it, and the unit it counts in."""

    env: str
    default: int
    unit: str
    what: str


SPEC_BYTES = Limit("KFDEPLOY_MAX_SPEC_BYTES", 4 * 1024 * 1024, "bytes", "spec file size")
SPEC_NODES = Limit("KFDEPLOY_MAX_SPEC_NODES", 100_000, "nodes", "YAML node")
SPEC_DEPTH = Limit("KFDEPLOY_MAX_SPEC_DEPTH", 100, "levels", "YAML nesting")
JSONNET_SECONDS = Limit("KFDEPLOY_JSONNET_TIMEOUT", 120, "seconds", "time")
JSONNET_MEMORY_MB = Limit("KFDEPLOY_JSONNET_MEMORY", 4096, "MiB", "memory")
JSONNET_STACK_MB = Limit("KFDEPLOY_JSONNET_STACK", 256, "MiB", "native stack")

ALL = (SPEC_BYTES, SPEC_NODES, SPEC_DEPTH, JSONNET_SECONDS, JSONNET_MEMORY_MB, JSONNET_STACK_MB)


def value(limit: Limit) -> int:
    """The limit in force: ``$<env>`` when it is a positive integer, else the default."""
    raw = os.environ.get(limit.env, "").strip().replace("_", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 and int(raw) > 0 else limit.default


def exceeded(limit: Limit, what: str = "") -> str:
    """``<what> exceeded the <kind> limit of N <unit>; raise it with <ENV>=<unit>``."""
    subject = f"{what} exceeded" if what else "exceeded"
    return (f"{subject} the {limit.what} limit of {value(limit):,} {limit.unit}; "
            f"raise it with {limit.env}=<{limit.unit}> if the input is trusted")
