"""The one loader of hand-written mapping files (kubewhy.yamlsrc.mapping_entries): the identity map and the MCP
token file read a file, and refuse a broken one, the same way, each error naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubewhy.identity import IdentityError, load_identities, parse_identities
from kubewhy.mcp.tokens import TokenFileError, load_tokens, parse_tokens
from kubewhy.yamlsrc import mapping_entries


def test_entries_keep_their_file_and_line() -> None:
    entries = mapping_entries("# a comment\na: 1\n\nb: {c: 2}\n", "f.yaml", ValueError, expected="x")
    assert [(e.key, e.value, e.where) for e in entries] == [("a", 1, "f.yaml:2"), ("b", {"c": 2}, "f.yaml:4")]
    assert mapping_entries("", "f.yaml", ValueError, expected="x") == []
    with pytest.raises(ValueError, match=r"^f\.yaml:1: nothing here$"):
        mapping_entries("# only a comment\n", "f.yaml", ValueError, expected="x", empty="nothing here")


@pytest.mark.parametrize(
    "text,message",
    [
        ("a: {}\na: {}\n", "f.yaml:2: duplicate key 'a'"),
        ("a: {}\n---\nb: {}\n", "f.yaml:1: expected one mapping of"),
        ("- a\n- b\n", "f.yaml:1: expected one mapping of"),
        ("a: [b\n", "f.yaml:1: YAML error"),
    ],
    ids=["duplicate-key", "two-documents", "a-list", "unclosed"],
)
def test_both_files_refuse_broken_yaml_alike(text: str, message: str) -> None:
    for parse, error in ((parse_identities, IdentityError), (parse_tokens, TokenFileError)):
        with pytest.raises(error) as failure:
            parse(text, "f.yaml")
        assert str(failure.value).startswith(message), (parse.__name__, str(failure.value))


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(IdentityError, match="missing.yaml: cannot read the identity map"):
        load_identities(missing)
    with pytest.raises(TokenFileError, match="missing.yaml: cannot read the MCP token file"):
        load_tokens(missing)
    assert parse_identities("", "f.yaml").entries == {}  # an empty map maps nobody
    with pytest.raises(TokenFileError, match=r"^f\.yaml:1: no callers"):  # an empty token file lets nobody in
        parse_tokens("", "f.yaml")
