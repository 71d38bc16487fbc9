"""Multi-document YAML with line numbers, so every error can point at the file and line.

The simulator's scenario loader reads with it; kubewhy has its own copy (``kubewhy/yamlsrc.py``), as the
simulator shares no code with what it checks.

Parsing runs on libyaml's C parser when PyYAML has it, about ten times faster than PyYAML's own, and gives the
same node trees, lines and data. Where the two are known to part (see :func:`_libyaml_reads_it_alike` and
:func:`_vet`) and on any error, whose messages libyaml words its own way, the text is read by the pure-Python
loader, which says exactly what it always said; the documents the C parser already handed out are skipped on
that second reading, never yielded twice.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

_CLoader: type[Any] | None = yaml.CSafeLoader if yaml.__with_libyaml__ else None


class YamlSourceError(ValueError):
    def __init__(self, message: str, document: int, line: int | None):
        super().__init__(message)
        self.document, self.line = document, line


@dataclass
class Doc:
    index: int  # 1-based
    node: yaml.Node
    data: Any

    def line_of(self, path: tuple[Any, ...]) -> int:
        return line_of(self.node, path)


def documents(text: str) -> Iterator[Doc]:
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
    yield from _documents(yaml.SafeLoader, text, skip=handed_out)


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
            if node is None:  # check_node() said there is one
                break
            if vet:
                _vet(node, text)
            _no_duplicate_keys(node, index)
            data = loader.construct_document(node)
            if index > skip:
                yield Doc(index, node, data)
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or str(exc)
        # An unclosed bracket is reported at the end of the stream; where it was opened helps more.
        unclosed = "<stream end>" in problem or (exc.context or "").startswith("while parsing a flow")
        mark = exc.context_mark if unclosed and exc.context_mark else (exc.problem_mark or exc.context_mark)
        raise YamlSourceError(f"YAML error: {problem}", index or 1, mark.line + 1 if mark else None) from None
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


def line_of(node: yaml.Node, path: tuple[Any, ...]) -> int:
    """Line (1-based) of the value at ``path`` inside ``node``, or of the deepest part that exists."""
    current = node
    for part in path:
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    current = value
                    break
            else:
                break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            current = current.value[part]
        else:
            break
    return current.start_mark.line + 1


def _no_duplicate_keys(node: yaml.Node, index: int) -> None:
    """YAML quietly keeps the last of two equal keys; here that is an error with its line."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in seen:
                        raise YamlSourceError(
                            f"duplicate key {key.value!r} (first at line {seen[key.value]})",
                            index,
                            key.start_mark.line + 1,
                        )
                    seen[key.value] = key.start_mark.line + 1
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
