"""Kubernetes resource quantities as exact numbers: ``500m``, ``2``, ``64Gi``, ``1.5e3``.

Exact (``Fraction``) so sums of many small requests never drift, as the API server's own
``resource.Quantity`` does not. The one parser: preflight sums requests with it, and the
cluster side compares values with it (``0.5`` is ``500m``, ``1Gi`` is ``1024Mi``).
"""

from __future__ import annotations

import re
from fractions import Fraction

SUFFIXES: dict[str, Fraction] = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}
QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                      r"(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$")
BINARY_UNITS = (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))
# Resources counted in bytes, shown in binary units.
BYTE_RESOURCES = re.compile(r"^(memory|ephemeral-storage|storage|hugepages-.*)$")


class QuantityError(ValueError):
    """Not a Kubernetes quantity."""


def parse(value: str | int | float) -> Fraction:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Fraction(str(value))
    m = QUANTITY.match(str(value).strip())
    if not m:
        raise QuantityError(f"{value!r} is not a Kubernetes quantity (such as 500m, 2, 64Gi)")
    number, exponent, suffix = m.groups()
    scale = Fraction(10) ** int(exponent[1:]) if exponent else SUFFIXES[suffix or ""]
    return Fraction(number) * scale


def parse_or_none(value: object) -> Fraction | None:
    """``parse`` for a value that may not be a quantity at all (any field of an object)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        return parse(value)
    except (QuantityError, ValueError, ZeroDivisionError):
        return None


def show(resource: str, amount: Fraction) -> str:
    """A readable amount: cpu in cores or millicores, bytes in binary units, others as counts."""
    if resource == "cpu":
        return f"{float(amount):g}" if amount >= 1 else f"{round(amount * 1000)}m"
    if BYTE_RESOURCES.match(resource):
        for unit, size in BINARY_UNITS:
            if abs(amount) >= size:
                return f"{float(amount / size):.3g}{unit}"
        return f"{round(amount)}"
    return f"{float(amount):g}"
