"""The identity map (kubewhy.identity): who a Slack user is in Kubernetes, and a bad map named by file and line."""

from __future__ import annotations

import pytest

from kubewhy.identity import IdentityError, parse_identities

MAP = """
U0ALICE: {user: alice, groups: [sre]}
U0CAROL: {groups: [viewers]}
S0ONCALL: {groups: [oncall, sre]}
"""


def test_a_person_is_their_user_and_every_matching_group() -> None:
    mapped = parse_identities(MAP, "ids.yaml")
    alice = mapped.resolve("U0ALICE", ["S0ONCALL"])
    assert alice is not None and alice.user == "alice" and alice.groups == ("sre", "oncall")
    assert mapped.resolve("U0CAROL", ["S0ONCALL"]) is None  # groups but no user: not mapped, nothing applied
    assert mapped.resolve("U0NOBODY") is None
    assert mapped.subjects() == (("alice",), ("oncall", "sre", "viewers"))


@pytest.mark.parametrize(
    "text,message",
    [
        ("U0ALICE: {user: alice}\nalice: {user: bob}\n", "ids.yaml:2: 'alice' is not a Slack user"),
        ("U0ALICE: {user: alice, groups: [system:masters]}\n", "ids.yaml:1: U0ALICE: system:masters"),
        ("S0SRE: {user: alice}\n", "ids.yaml:1: S0SRE: a Slack group maps to groups only"),
        ("U0ALICE: {user: [a, b]}\n", "ids.yaml:1: U0ALICE: user must be one Kubernetes user name"),
        ("U0ALICE: {user: alice, role: admin}\n", "ids.yaml:1: U0ALICE: expected {user"),
        ("U0ALICE: {user: alice\n", "ids.yaml:"),
    ],
)
def test_a_bad_map_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(IdentityError) as failure:
        parse_identities(text, "ids.yaml")
    assert str(failure.value).startswith(message), failure.value
