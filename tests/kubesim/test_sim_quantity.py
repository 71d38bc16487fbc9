"""kubesim parses resource quantities itself (it must not share code with kubewhy or lean on its client library);
the kubernetes client's parser is the reference it has to agree with."""

from __future__ import annotations

import pytest
from kubernetes.utils.quantity import parse_quantity

from kubesim.usage import quantity


@pytest.mark.parametrize(
    "text",
    [
        "250m",
        "1",
        "1.5",
        "0.1m",
        ".5",
        "100n",
        "3u",
        "10k",
        "5G",
        "7P",
        "1E",
        "1e3",
        "1e-3",
        "512Ki",
        "100Mi",
        "1Gi",
        "1.5Gi",
        "1.25Ti",
        "2Ei",
        "-1",
    ],
)
def test_quantity_agrees_with_the_kubernetes_client(text: str) -> None:
    assert quantity(text) == float(parse_quantity(text))


@pytest.mark.parametrize("value", ["", None, "lots", "1Qi", "1 Gi", True])
def test_anything_else_is_the_default(value: object) -> None:
    assert quantity(value, default=-7.0) == -7.0


def test_yaml_numbers_are_taken_as_they_are() -> None:
    assert quantity(2) == 2.0 and quantity(0.25) == 0.25
