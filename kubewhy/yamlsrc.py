"""The core's YAML reader: multi-document YAML that remembers where each value was written.

Playbooks and snapshot files are written (or edited) by hand, so every error must point at a file and line.
PyYAML keeps the last of two equal keys without a word; here that is an error too, because the first value
silently vanishing would make a playbook or a post-mortem say something its author did not write. Unquoted
times stay strings, as the Kubernetes API reads them (``creationTimestamp: 2024-06-14T10:00:00Z`` is text).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """The safe loader without YAML 1.1's implicit timestamps."""

    yaml_implicit_resolvers = {  # noqa: RUF012  (PyYAML reads it as a class attribute)
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


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


def documents(text: str) -> Iterator[Doc]:
    """Every document of a YAML stream, in order; raises :class:`YamlSourceError` with the line."""
    try:
        loader = _Loader(text)
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
            _reject_duplicate_keys(node, index)
            yield Doc(index, node, loader.construct_document(node))
    except yaml.MarkedYAMLError as exc:
        raise YamlSourceError(f"YAML error: {exc.problem or exc}", index or 1, _line(exc)) from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(f"YAML error: {exc}", index or 1, None) from None
    finally:
        loader.dispose()


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
