"""Kubernetes resource quantities (``128Mi``, ``250m``, ``1.5G``, ``1e3``) as numbers, without the client library.

The core reads quantities in playbook expressions (``quantity(c.resources.limits.memory)``); only the live
adapter may import ``kubernetes``, so the parser is the core's own. It follows the grammar of
``k8s.io/apimachinery/pkg/api/resource``: a signed decimal number, then a binary suffix (Ki … Ei), a decimal
suffix (n u m "" k M G T P E) or a decimal exponent (``e3``, ``E-2``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<binary>[KMGTPE]i)|[eE](?P<exponent>[+-]?\d+)|(?P<decimal>[numkMGTPE]?))$"
)


def parse_quantity(value: str | float | Decimal) -> Decimal:
    """The quantity's value in base units (bytes, cores); ``ValueError`` when it is not a quantity."""
    # bool is an int to Python, but true is no quantity (TypeError, as for any other wrong type)
    if isinstance(value, bool):
        raise TypeError(f"not a quantity: {value!r}")
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    m = _QUANTITY.match(str(value).strip())
    if not m:
        raise ValueError(f"not a quantity: {value!r}")
    try:
        number = Decimal(m.group("number"))
    except InvalidOperation:
        raise ValueError(f"not a quantity: {value!r}") from None
    if m.group("binary"):
        return number * _BINARY[m.group("binary")]
    if m.group("exponent") is not None:
        return number.scaleb(int(m.group("exponent")))
    return number * _DECIMAL[m.group("decimal") or ""]
