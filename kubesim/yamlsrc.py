"""Multi-document YAML with line numbers, so every error can point at the file and line.

Shared by the simulator's scenario loader and kubewhy's playbook loader and snapshot reader.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml


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
    try:
        loader = yaml.SafeLoader(text)
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
            _no_duplicate_keys(node, index)
            yield Doc(index, node, loader.construct_document(node))
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
