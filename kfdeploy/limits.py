"""Bounds on what kfdeploy reads, downloads, extracts and evaluates: the one table of them.

Hostile or careless input (a YAML alias bomb, a jsonnet loop that never ends, a zip bomb, a server
trickling a byte at a time) must fail fast with an error that names the limit and how to raise
it, instead of eating the machine. Each limit is a row here (listed in the README, "Bounded
input"); code asks ``value(LIMIT)`` and words its error with ``exceeded(LIMIT, what)``.

One rule for every override: ``$<env>`` unset or empty means the default; otherwise it must be a
whole number from 1 to the limit's ``most``, and anything else is a ``UsageError`` (exit 3)
naming the variable, its value and the accepted range. A bad setting is never ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kfdeploy.errors import UsageError


@dataclass(frozen=True)
class Limit:
    """One bound: the variable that overrides it, its default and highest accepted value, the
    unit it counts in and what it bounds (worded into its errors)."""

    env: str
    default: int
    most: int
    unit: str
    what: str


SPEC_BYTES = Limit("KFDEPLOY_MAX_SPEC_BYTES", 4 * 1024 * 1024, 1024 ** 3, "bytes", "spec file size")
SPEC_NODES = Limit("KFDEPLOY_MAX_SPEC_NODES", 100_000, 100_000_000, "nodes", "YAML node")
SPEC_DEPTH = Limit("KFDEPLOY_MAX_SPEC_DEPTH", 100, 10_000, "levels", "YAML nesting")
JSONNET_SECONDS = Limit("KFDEPLOY_JSONNET_TIMEOUT", 120, 86_400, "seconds", "time")
JSONNET_MEMORY_MB = Limit("KFDEPLOY_JSONNET_MEMORY", 4096, 1024 * 1024, "MiB", "memory")
JSONNET_STACK_MB = Limit("KFDEPLOY_JSONNET_STACK", 256, 4096, "MiB", "native stack")
DOWNLOAD_MB = Limit("KFDEPLOY_MAX_DOWNLOAD_MB", 2048, 1_000_000, "MB", "download size")
DOWNLOAD_SECONDS = Limit("KFDEPLOY_DOWNLOAD_TIMEOUT", 900, 86_400, "seconds", "download time")
EXTRACT_MB = Limit("KFDEPLOY_MAX_EXTRACT_MB", 4096, 1_000_000, "MB", "extracted size")
EXTRACT_RATIO = Limit("KFDEPLOY_MAX_ARCHIVE_RATIO", 100, 100_000, "times", "extracted-to-archive size ratio")
EXTRACT_ENTRIES = Limit("KFDEPLOY_MAX_ARCHIVE_ENTRIES", 200_000, 100_000_000, "entries", "archive entry")

ALL = (SPEC_BYTES, SPEC_NODES, SPEC_DEPTH, JSONNET_SECONDS, JSONNET_MEMORY_MB, JSONNET_STACK_MB,
       DOWNLOAD_MB, DOWNLOAD_SECONDS, EXTRACT_MB, EXTRACT_RATIO, EXTRACT_ENTRIES)


def value(limit: Limit) -> int:
    """The limit in force: the default when ``$<env>`` is unset or empty, else its value, which
    must be a whole number from 1 to ``limit.most`` (``UsageError`` otherwise)."""
    raw = os.environ.get(limit.env, "").strip()
    if not raw:
        return limit.default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(limit.most))
            and 1 <= int(raw) <= limit.most):
        raise UsageError(f"{limit.env}={raw!r} is not a whole number of {limit.unit} from 1 to {limit.most}",
                         hint=f"set it within that range, or unset it for the default ({limit.default:,})")
    return int(raw)


def exceeded(limit: Limit, what: str = "") -> str:
    """``<what> exceeded the <kind> limit of N <unit>; raise it with <ENV>=<unit>``."""
    subject = f"{what} exceeded" if what else "exceeded"
    return (f"{subject} the {limit.what} limit of {value(limit):,} {limit.unit}; "
            f"raise it with {limit.env}=<{limit.unit}> if the input is trusted")
