"""The simulator's YAML reader on libyaml's C parser: the very nodes, data and errors of the pure-Python one.

The helpers here (the corpus, :func:`outcome`, the inputs) also serve ``tests/kubewhy/test_yamlsrc.py``, which
checks the core's copy of the reader the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim import yamlsrc

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted(p for d in ("playbooks", "kubesim/scenarios", "tests/realworld") for p in (ROOT / d).rglob("*.yaml"))

# Each breaks the C parser, the pure-Python one or our own checks; a document or two before the break shows
# that those already handed out are not handed out again.
BROKEN = {
    "unclosed bracket": "a: [1, 2\nb: 3\n",
    "unclosed bracket in the third document": "a: 1\n---\nb: 2\n---\nc: [1,\nd: 4\n",
    "unclosed quote": 'a: 1\n---\nb: "unterminated\n',
    "bad indentation": "a: 1\n  b: 2\n",
    "tab indentation": "a:\n\tb: 1\n",
    "tab in a plain scalar": "a: x\ty\n",
    "duplicate key": "a: 1\na: 2\n",
    "duplicate key in the second document": "ok: 1\n---\nm:\n  list:\n  - {k: 1, k: 2}\n",
    "NUL character": "a: 1\nb: x\x00y\n",
    "control character": "a: 1\n---\nb: \x07\n",
    "lone surrogate": "a: 1\nb: \udc80\n",
    "non-character": "a: \ufffe\n",
    "unknown tag": "a: 1\n---\nb: !nope 1\n",
    "undefined alias": "a: *nowhere\n",
    "not an int": "a: 1\n---\nb: !!int twelve\n",
    "block sequence in a mapping": "a: 1\n- b\n",
    "second document without a start": "a: 1\n...\nb: 2\n",
}

# Neither parser minds these.
EDGE = {
    "empty": "",
    "comments only": "# nothing\n",
    "explicit empty documents": "---\n---\na: 1\n",
    "empty values": "a:\nb:\n  c:\n- \nd: &x\ne: !!str\n",
    "windows line breaks": "a: 1\r\nb:\r\n- 'x\r\n  y'\r\n",
    "anchors and merge keys": "base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\nagain: *b\n",
    "timestamps and numbers": "t: 2024-06-14T10:00:00Z\nd: 2024-06-14\nn: 0o17\nf: .nan\nb: yes\n",
    "flow collections": "a: {b: [1, {c: d}], e: []}\nf: [g: h, i]\n",
    "block scalars": "a: |-\n  x\n\nb: >+ # note\n  y\n\nc: |2\n    z\n",
}

# Where libyaml reads otherwise than PyYAML's own parser (mostly accepting what PyYAML refuses): these go to the
# pure-Python parser, by a look at the text or at the nodes libyaml built.
PARTING = {
    "tab in a plain scalar": "a: x\ty\n",
    "tab after a colon": "a:\t1\n",
    "tab in a comment": "a: 1  #\tnote\n",
    "byte-order mark": "\ufeffa: 1\nb: é\n",
    "no line break at the end": "a: 1\nb:\n  ? k",
    "empty last document without a line break": "a: 1\n---\n   ",
    "NEL and LS line breaks": "a: 'x\x85y'\nb: \u2028c\n",
    "directive with a comment": "%YAML 1.1#...\n---\na: 1\n",
    "question mark in a flow value": "w: {a: b?}\n",
    "question mark in a flow sequence": "w: [what? yes]\n",
    "question mark in a flow value after a fine document": "a: 1\n---\nb: 2\n---\nw: {a: b?}\n---\nc: 3\n",
    "empty flow value": "w: [a: , b]\n",
    "empty flow value before a line break": "w: {kind:\n  , ns: x}\n",
    "empty explicit flow key": "{\n? explicit: entry,\n?\n}\n",
    "tag before a comma in flow": "{\n  foo : !!str,\n  !!str : bar,\n}\n",
    "non-specific tag on nothing": "!\n",
    "comment right after a block indicator": "block: ># comment\n  scalar\n",
    "deep nesting": "[" * 150 + "]" * 150 + "\n",
}


def tree(node: yaml.Node) -> Any:
    """A node tree as plain tuples: kind, tag, start and end (line, column, index) and the value or the children.

    Left out: a scalar's ``style`` and a sequence's ``flow_style``, where libyaml says ``''`` and ``False`` and
    PyYAML ``None`` (a plain scalar, an indentless sequence); only PyYAML's emitter reads them.
    """
    seen: dict[int, int] = {}

    def walk(n: yaml.Node) -> Any:
        if id(n) in seen:  # an alias: the same node object, in both
            return ("alias", seen[id(n)])
        seen[id(n)] = len(seen)
        marks = [(m.line, m.column, m.index) for m in (n.start_mark, n.end_mark)]
        head = (type(n).__name__, n.tag, *marks)
        if isinstance(n, yaml.MappingNode):
            return (*head, [(walk(k), walk(v)) for k, v in n.value])
        if isinstance(n, yaml.SequenceNode):
            return (*head, [walk(c) for c in n.value])
        return (*head, n.value)

    return walk(node)


def outcome(docs: Iterable[Any]) -> tuple[list[Any], Any]:
    """What a reader hands out, document by document, and the error it stops with (class, text, args, place)."""
    seen: list[Any] = []
    try:
        for doc in docs:
            seen.append((doc.index, tree(doc.node), repr(doc.data)))
    except Exception as exc:
        context = (exc.__cause__, exc.__suppress_context__)
        place = (getattr(exc, "document", None), getattr(exc, "line", None))
        return seen, (type(exc), str(exc), exc.args, place, context)
    return seen, None


needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")


def corpus_differences(reader: Any, python_loader: type[Any]) -> list[Path]:
    """The files of the corpus that ``reader`` (a yamlsrc module) reads otherwise on libyaml than in Python."""
    assert len(CORPUS) > 100
    differ = []
    for path in CORPUS:
        text = path.read_text()
        assert reader._libyaml_reads_it_alike(text), f"{path} would not be given to the C parser"
        fast = outcome(reader._documents(reader._CLoader, text, vet=True))  # the C parser alone, no fallback
        if fast != outcome(reader._documents(python_loader, text)):
            differ.append(path.relative_to(ROOT))
    return differ


@needs_libyaml
def test_every_yaml_file_reads_the_same_on_the_c_parser() -> None:
    assert not corpus_differences(yamlsrc, yaml.SafeLoader)


def left_to_python(reader: Any, text: str) -> bool:
    """Whether ``reader`` leaves ``text`` to the pure-Python parser: at a look at it, or at libyaml's nodes."""
    if not reader._libyaml_reads_it_alike(text):
        return True
    try:
        list(reader._documents(reader._CLoader, text, vet=True))
    except reader._Unlike:
        return True
    return False


@pytest.mark.parametrize("text", [*BROKEN.values(), *EDGE.values()], ids=[*BROKEN, *EDGE])
def test_documents_and_errors_are_those_of_the_python_parser(text: str) -> None:
    assert outcome(yamlsrc.documents(text)) == outcome(yamlsrc._documents(yaml.SafeLoader, text))


@needs_libyaml
@pytest.mark.parametrize("text", PARTING.values(), ids=PARTING)
def test_where_libyaml_parts_from_pyyaml_the_python_parser_reads(text: str) -> None:
    assert left_to_python(yamlsrc, text)
    assert outcome(yamlsrc.documents(text)) == outcome(yamlsrc._documents(yaml.SafeLoader, text))


@needs_libyaml
def test_errors_come_after_the_documents_before_them_once_each() -> None:
    docs = yamlsrc.documents(BROKEN["unclosed bracket in the third document"])
    assert [next(docs).data, next(docs).data] == [{"a": 1}, {"b": 2}]  # handed out before the error is found
    with pytest.raises(yamlsrc.YamlSourceError) as info:
        next(docs)
    where = (info.value.document, info.value.line)  # the line where the bracket was opened
    assert where == (3, 5) and str(info.value) == "YAML error: expected ',' or ']', but got '<stream end>'"


def test_without_libyaml_the_python_parser_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    text = EDGE["anchors and merge keys"] + "---\n" + BROKEN["duplicate key"]
    expected = outcome(yamlsrc._documents(yaml.SafeLoader, text))
    monkeypatch.setattr(yamlsrc, "_CLoader", None)
    assert outcome(yamlsrc.documents(text)) == expected and len(expected[0]) == 1
