"""The core's YAML reader: lines for every value, duplicate keys refused with both lines, times kept as text."""

from __future__ import annotations

import pytest

from kubewhy.yamlsrc import YamlSourceError, documents


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
