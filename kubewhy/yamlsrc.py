"""The core's YAML reader: multi-document YAML that remembers where each value was written.

Playbooks and snapshot files are written (or edited) by hand, so every error must point at a file and line.
PyYAML keeps the last of two equal keys without a word; here that is an error too, because the first value
silently vanishing would make a playbook or a post-mortem say something its author did not write. Unquoted
times stay strings, as the Kubernetes API reads them (``creationTimestamp: 2024-06-14T10:00:00Z`` is text).

Parsing runs on libyaml's C parser when PyYAML has it, about ten times faster than PyYAML's own (which was
three quarters of ``kubewhy eval``), and gives the same node trees, lines and data. Where the two are known to
part (see :func:`_libyaml_reads_it_alike` and :func:`_vet`) and on any error, whose messages libyaml words its
own way, the text is read by the pure-Python loader, which says exactly what it always said; the documents the
C parser already handed out are skipped on that second reading, never yielded twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """The safe loader without YAML 1.1's implicit timestamps."""

    yaml_implicit_resolvers = {  # noqa: RUF012  (PyYAML reads it as a class attribute)
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_CLoader: type[Any] | None = None  # the same loader on libyaml's parser, when PyYAML was built with it
if yaml.__with_libyaml__:

    class _FastLoader(yaml.CSafeLoader):
        """libyaml's parser and composer with the safe constructor and :class:`_Loader`'s resolver table."""

        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers  # noqa: RUF012

    _CLoader = _FastLoader


class YamlSourceError(ValueError):
    """Unreadable YAML; ``document`` is 1-based, ``line`` is 1-based or None when PyYAML gives no position."""

    def __init__(self, message: str, document: int, line: int | None):
        super().__init__(message)
        self.document = document
        self.line = line


@dataclass(frozen=True)
class Doc:
    """One document of a stream: its 1-based index, its node tree (for lines) and its plain data."""

    index: int
    node: yaml.Node
    data: Any

    def line_of(self, path: tuple[Any, ...]) -> int:
        return line_of(self.node, path)


@dataclass(frozen=True)
class Entry:
    """One entry of a hand-written mapping file: its key (as text), its value and where it is (``file:line``)."""

    key: str
    value: Any
    where: str


def read_source(path: Path, what: str, error: Callable[[str], Exception]) -> str:
    """The text of ``path``; ``error("PATH: cannot read WHAT: why")`` when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None


def mapping_entries(
    text: str, source: str, error: Callable[[str], Exception], *, expected: str, empty: str | None = None
) -> list[Entry]:
    """The entries of a file that holds one YAML mapping (an identity map, an MCP token file), each with its
    ``file:line``. ``error(message)`` is raised, the message starting with ``source:LINE:``, for unreadable YAML
    (duplicate keys included), more than one document, or anything but a mapping (``expected`` says what the
    mapping maps, e.g. "Slack ids to {user: …}"). An empty file has no entries, or is an error saying ``empty``."""
    try:
        docs = list(documents(text))
    except YamlSourceError as exc:
        raise error(f"{source}:{exc.line or 1}: {exc}") from None
    if not docs or docs[0].data is None:
        if empty is not None:
            raise error(f"{source}:1: {empty}")
        return []
    doc = docs[0]
    if len(docs) > 1 or not isinstance(doc.data, dict):
        raise error(f"{source}:1: expected one mapping of {expected}")
    return [Entry(str(key), value, f"{source}:{doc.line_of((key,))}") for key, value in doc.data.items()]


def documents(text: str) -> Iterator[Doc]:
    """Every document of a YAML stream, in order; raises :class:`YamlSourceError` with the line."""
    handed_out = 0
    if _CLoader is not None and _libyaml_reads_it_alike(text):
        fast = _documents(_CLoader, text, vet=True)
        try:
            while True:
                try:
                    doc = next(fast)
                except StopIteration:
                    return
                except Exception:  # any error, or a tree to doubt: the pure-Python loader below has the last word
                    break
                yield doc
                handed_out += 1
        finally:
            fast.close()
    yield from _documents(_Loader, text, skip=handed_out)


def _documents(loader_class: type[Any], text: str, skip: int = 0, vet: bool = False) -> Generator[Doc, None, None]:
    """The documents read by ``loader_class``, all checked and constructed, the first ``skip`` not yielded."""
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (NUL, a control character)
        line = text.count("\n", 0, exc.position) + 1
        raise YamlSourceError(f"YAML error: character #x{exc.character:04x} is not allowed in YAML", 1, line) from None
    index = 0
    try:
        while loader.check_node():
            index += 1
            node = loader.get_node()
            if node is None:
                continue
            if vet:
                _vet(node, text)
            _reject_duplicate_keys(node, index)
            data = loader.construct_document(node)
            if index > skip:
                yield Doc(index, node, data)
    except yaml.MarkedYAMLError as exc:
        raise YamlSourceError(f"YAML error: {exc.problem or exc}", index or 1, _line(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(f"YAML error: {exc}", index or 1, None) from None
    finally:
        loader.dispose()


# Where libyaml and PyYAML's own parser part, found with the YAML test suite and with broken copies of the
# playbooks, scenarios and snapshots: mostly where libyaml follows YAML 1.2 and accepts what PyYAML refuses.
_ODD_TEXT = ("\t", "\ufeff", "\x85", "\u2028", "\u2029", "\n%", "\r%")  # `in` is many times faster than a regex
_BLOCK_HEADER = re.compile(r"[|>](?:[+-][1-9]?|[1-9][+-]?)?[ \r\n]")
_MAX_DEPTH = 100  # PyYAML's composer recurses about twice a level: far deeper, it can run out of stack
_NULL = "tag:yaml.org,2002:null"


class _Unlike(Exception):
    """A tree from libyaml that PyYAML's own parser might build otherwise, or refuse."""


def _libyaml_reads_it_alike(text: str) -> bool:
    """Whether the C parser may read ``text``: not with what it would read otherwise than PyYAML's parser.

    That is a tab (libyaml also takes one between tokens and in a plain scalar, PyYAML refuses it), a byte-order
    mark (libyaml leaves it out of the positions), a NEL, LS or PS line break, a directive (``%``) and a last
    line without a line break (libyaml ends the stream, and an empty value there, on a line further down).
    """
    return text.endswith("\n") and not text.startswith("%") and not any(odd in text for odd in _ODD_TEXT)


def _vet(root: yaml.Node, text: str) -> None:
    """Raise :class:`_Unlike` on a node libyaml is known to read otherwise than PyYAML's parser.

    In a flow collection (``[...]``, ``{...}``): a plain scalar with a ``?`` (PyYAML refuses it), an empty
    plain scalar (PyYAML puts an empty value at the ``:`` before it, libyaml at what follows) and a tag or an
    anchor (libyaml ends a tag at a ``,``). Anywhere: an empty plain scalar with a tag (``!`` alone makes it a
    string in libyaml, a null in PyYAML), a block scalar whose indicators are not followed by a space or a line
    break (PyYAML refuses ``|#``) and nesting deep enough for PyYAML's recursive composer to give up.
    The walk is in document order, so every node is first met where it is written, not at an alias.
    """
    pending: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    seen: set[int] = set()
    while pending:
        node, in_flow, depth = pending.pop()
        if depth > _MAX_DEPTH or (in_flow and text.startswith(("!", "&"), node.start_mark.index)):
            raise _Unlike
        if isinstance(node, yaml.ScalarNode):
            if node.style == "":  # plain
                if (not node.value and (in_flow or node.tag != _NULL)) or (in_flow and "?" in node.value):
                    raise _Unlike
            elif node.style in ("|", ">") and not _BLOCK_HEADER.match(text, node.start_mark.index):
                raise _Unlike
            continue
        if not isinstance(node, yaml.CollectionNode) or id(node) in seen:
            continue
        seen.add(id(node))
        in_flow = in_flow or bool(node.flow_style)
        children = [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else node.value
        pending.extend((child, in_flow, depth + 1) for child in reversed(children))


def _line(exc: yaml.MarkedYAMLError) -> int | None:
    """The most useful line of a parse error: where an unclosed bracket or quote was opened, when that is it."""
    problem, context = exc.problem or "", exc.context or ""
    opened = "<stream end>" in problem or context.startswith(("while parsing a flow", "while scanning a quoted"))
    mark = exc.context_mark if opened and exc.context_mark else (exc.problem_mark or exc.context_mark)
    return mark.line + 1 if mark else None


def line_of(node: yaml.Node, path: tuple[Any, ...]) -> int:
    """The 1-based line of the value at ``path`` (keys and list indexes), or of the deepest part present."""
    current = node
    for part in path:
        child = _child(current, part)
        if child is None:
            break
        current = child
    return current.start_mark.line + 1


def _child(node: yaml.Node, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part) and isinstance(value, yaml.Node):
                return value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child = node.value[part]
        return child if isinstance(child, yaml.Node) else None
    return None


def _reject_duplicate_keys(root: yaml.Node, index: int) -> None:
    """Walk the node tree once (aliases are visited once, so anchors cannot make this blow up)."""
    seen_nodes: set[int] = set()
    pending: list[tuple[yaml.Node, str]] = [(root, "")]
    while pending:
        node, where = pending.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    pending.append((value, where))
                    continue
                line = key.start_mark.line + 1
                if key.value in first:
                    inside = f" in {where}" if where else ""
                    raise YamlSourceError(
                        f"duplicate key {key.value!r}{inside} (first at line {first[key.value]})", index, line
                    )
                first[key.value] = line
                pending.append((value, f"{where}.{key.value}" if where else key.value))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, f"{where}[{i}]") for i, item in enumerate(node.value))
