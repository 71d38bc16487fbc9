"""The core's YAML reader: lines for every value, duplicate keys refused with both lines, times kept as text."""

from __future__ import annotations

import pytest

from kubewhy import yamlsrc
from kubewhy.yamlsrc import YamlSourceError, documents
from tests.kubesim.test_yamlsrc_fast import (
    BROKEN,
    EDGE,
    PARTING,
    corpus_differences,
    left_to_python,
    needs_libyaml,
    outcome,
)


def test_documents_keep_their_index_and_the_lines_of_values() -> None:
    docs = list(documents("a: 1\nb:\n  c: [x, y]\n  d:\n  - e: 2\n---\n---\nz: 3\n"))
    assert [d.index for d in docs] == [1, 2, 3] and docs[1].data is None
    first = docs[0]
    assert first.data == {"a": 1, "b": {"c": ["x", "y"], "d": [{"e": 2}]}}
    assert first.line_of(("b", "c")) == 3 and first.line_of(("b", "d", 0, "e")) == 5
    assert first.line_of(("b", "nope", "deeper")) == 3  # the deepest part that exists
    assert docs[2].line_of(("z",)) == 8


@pytest.mark.parametrize(
    "text,document,line,message",
    [
        ("a: 1\na: 2\n", 1, 2, "duplicate key 'a' (first at line 1)"),
        ("ok: 1\n---\nm:\n  list:\n  - {k: 1, k: 2}\n", 2, 5, "duplicate key 'k' in m.list[0] (first at line 5)"),
        ("a: [1, 2\nb: 3\n", 1, 1, "YAML error"),
        ('a: "unterminated\n', 1, 1, "YAML error"),
        ("a: 1\n  b: 2\n", 1, 2, "YAML error"),
    ],
)
def test_errors_say_document_and_line(text: str, document: int, line: int, message: str) -> None:
    with pytest.raises(YamlSourceError) as info:
        list(documents(text))
    assert (info.value.document, info.value.line) == (document, line), str(info.value)
    assert message in str(info.value)


def test_merge_keys_and_anchors_are_not_duplicates() -> None:
    text = "base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\nagain: *b\n"
    (doc,) = documents(text)
    assert doc.data["use"] == {"x": 1, "y": 3} and doc.data["again"] == {"x": 1, "y": 2}


def test_times_stay_text_as_the_kubernetes_api_reads_them() -> None:
    (doc,) = documents("creationTimestamp: 2024-06-14T10:00:00Z\ndate: 2024-06-14\nn: 3\nflag: true\n")
    assert doc.data == {"creationTimestamp": "2024-06-14T10:00:00Z", "date": "2024-06-14", "n": 3, "flag": True}


# libyaml's C parser, used when PyYAML has it: the nodes, data and errors of the pure-Python parser, always.


@needs_libyaml
def test_every_yaml_file_reads_the_same_on_the_c_parser() -> None:
    assert not corpus_differences(yamlsrc, yamlsrc._Loader)


@pytest.mark.parametrize("text", [*BROKEN.values(), *EDGE.values()], ids=[*BROKEN, *EDGE])
def test_documents_and_errors_are_those_of_the_python_parser(text: str) -> None:
    assert outcome(documents(text)) == outcome(yamlsrc._documents(yamlsrc._Loader, text))


@needs_libyaml
@pytest.mark.parametrize("text", PARTING.values(), ids=PARTING)
def test_where_libyaml_parts_from_pyyaml_the_python_parser_reads(text: str) -> None:
    assert left_to_python(yamlsrc, text)
    assert outcome(documents(text)) == outcome(yamlsrc._documents(yamlsrc._Loader, text))


@needs_libyaml
def test_the_c_parser_keeps_times_as_text_too() -> None:
    assert yamlsrc._CLoader is not None
    (doc,) = yamlsrc._documents(yamlsrc._CLoader, "creationTimestamp: 2024-06-14T10:00:00Z\nat: 2024-06-14\n")
    assert doc.data == {"creationTimestamp": "2024-06-14T10:00:00Z", "at": "2024-06-14"}


@needs_libyaml
def test_documents_before_an_error_are_handed_out_once() -> None:
    docs = documents("ok: 1\n---\nalso: 2\n---\nm: {k: 1, k: 2}\n---\nnever: 3\n")
    assert [next(docs).data, next(docs).data] == [{"ok": 1}, {"also": 2}]
    with pytest.raises(YamlSourceError, match=r"duplicate key 'k' in m \(first at line 5\)"):
        next(docs)


def test_without_libyaml_the_python_parser_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    text = EDGE["timestamps and numbers"] + "---\n" + BROKEN["unclosed bracket"]
    expected = outcome(yamlsrc._documents(yamlsrc._Loader, text))
    monkeypatch.setattr(yamlsrc, "_CLoader", None)
    assert outcome(documents(text)) == expected and len(expected[0]) == 1
