"""The core's own Kubernetes quantity parser (the client library is only for the live adapter)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kubewhy.expressions import Compiler
from kubewhy.quantity import parse_quantity


@pytest.mark.parametrize(
    "text,value",
    [
        ("128Mi", 128 * 2**20),
        ("1Gi", 2**30),
        ("1.5Gi", 3 * 2**29),
        ("2Ki", 2048),
        ("1Ti", 2**40),
        ("1Pi", 2**50),
        ("1Ei", 2**60),
        ("250m", Decimal("0.25")),
        ("100u", Decimal("0.0001")),
        ("5n", Decimal("0.000000005")),
        ("1", 1),
        ("0.5", Decimal("0.5")),
        ("1k", 1000),
        ("1M", 10**6),
        ("1G", 10**9),
        ("3T", 3 * 10**12),
        ("1P", 10**15),
        ("2E", 2 * 10**18),
        ("1e3", 1000),
        ("1E3", 1000),
        ("12e-2", Decimal("0.12")),
        ("1e+2", 100),
        ("-1", -1),
        ("+2Mi", 2 * 2**20),
        (".5", Decimal("0.5")),
        ("1.", 1),
        (" 64Mi ", 64 * 2**20),
    ],
)
def test_quantities_parse_to_base_units(text: str, value: int | Decimal) -> None:
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "Mi", "1Zi", "1 Mi", "1mi", "1KiB", "1.2.3", "1e", "abc", "1ki", "--1"])
def test_what_is_not_a_quantity_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a quantity"):
        parse_quantity(text)


def test_numbers_pass_through() -> None:
    assert parse_quantity(3) == 3 and parse_quantity(0.25) == Decimal("0.25")


def test_the_expression_helper_uses_it() -> None:
    compiler = Compiler()
    assert compiler.compile('quantity("1.5Gi")').evaluate({}) == 1.5 * 2**30
    assert compiler.compile('quantity("250m")').evaluate({}) == 0.25
    assert compiler.compile('quantity("lots")').evaluate({}) == 0.0  # a bad value is 0, not an error
