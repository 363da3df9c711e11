"""Kubernetes version constraints, as components declare them (``kubeVersion: ">=1.29 <1.34"``).

Terms are separated by spaces or commas and must all hold; a version is compared by
major.minor.patch, so ``v1.30.5-gke.1200`` is 1.30.5 and ``">=1.29"`` means 1.29.0 or later.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

Version = tuple[int, int, int]
TERM = re.compile(r"^(>=|<=|==|!=|>|<|=)?v?([0-9]+)\.([0-9]+)(?:\.([0-9]+))?$")
OPS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
    "=": operator.eq, "==": operator.eq, "!=": operator.ne, "": operator.eq,
}
VERSION = re.compile(r"^v?([0-9]+)\.([0-9]+)(?:\.([0-9]+))?")


class ConstraintError(ValueError):
    """Not a version constraint."""


def version_of(text: str) -> Version:
    m = VERSION.match(text.strip())
    if not m:
        raise ConstraintError(f"{text!r} is not a Kubernetes version such as v1.33.2")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def terms(constraint: str) -> list[tuple[str, Version]]:
    out = []
    for term in re.split(r"[\s,]+", constraint.strip()):
        m = TERM.match(term)
        if not m:
            raise ConstraintError(f"{term!r} in {constraint!r} is not a version constraint such as >=1.29")
        out.append((m.group(1) or "", (int(m.group(2)), int(m.group(3)), int(m.group(4) or 0))))
    return out


def satisfies(version: str, constraint: str) -> bool:
    v = version_of(version)
    return all(OPS[op](v, bound) for op, bound in terms(constraint))
