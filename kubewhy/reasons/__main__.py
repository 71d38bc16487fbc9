"""``python -m kubewhy.reasons check [FILE]`` validates the vocabulary against the bundled playbooks;
``python -m kubewhy.reasons docs`` prints docs/reasons.md (the suite checks that the committed page is current)."""

from __future__ import annotations

import sys
from pathlib import Path

from .docs import render
from .vocabulary import Vocabulary, VocabularyError, bundled, load, problems


def _playbooks() -> dict[str, str]:
    from ..playbooks.loader import load_dirs

    return {p.id: p.title for p in load_dirs([]).playbooks}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("check", "docs"):
        print("usage: python -m kubewhy.reasons check [FILE] | docs", file=sys.stderr)
        return 2
    try:
        vocab: Vocabulary = load(Path(argv[1]).read_text(encoding="utf-8"), argv[1]) if len(argv) > 1 else bundled()
    except (VocabularyError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    playbooks = _playbooks()
    if argv[0] == "docs":
        sys.stdout.write(render(vocab, playbooks))
        return 0
    found = problems(vocab, set(playbooks))
    for p in found:
        print(f"error: {p}", file=sys.stderr)
    if found:
        return 1
    by_where: dict[str, int] = {}
    for e in vocab.entries:
        by_where[e.where] = by_where.get(e.where, 0) + 1
    mapped = sum(1 for e in vocab.entries if e.finding)
    print(
        f"{vocab.source}: {len(vocab.entries)} entries ({mapped} mapped to findings, "
        f"{len(vocab.entries) - mapped} informational), Kubernetes {vocab.version}@{vocab.commit[:12]}"
    )
    for where, n in sorted(by_where.items()):
        print(f"  {where}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
