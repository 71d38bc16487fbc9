"""Which kind a fragment is about, from what Kubernetes says in it.

A paste of an Events table alone names no kind; the reader calls it a pod (the kind most pastes are about).
The vocabulary knows which kinds each event reason and message is written on (``NodeHasDiskPressure`` on a Node,
``SyncLoadBalancerFailed`` on a Service, ``FailedCreate`` on a workload), so the words can correct that guess.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .vocabulary import Vocabulary

Obj = dict[str, Any]


def kind_of(vocabulary: Vocabulary, events: list[Obj], guess: str) -> str:
    """The kind the events' words are written on, by a majority of the entries they match (each event counts
    once); ``guess`` when the words allow it, or when they name no kind."""
    votes: Counter[str] = Counter()
    for e in events:
        kinds: list[str] = []
        for entry in vocabulary.entries:
            if entry.where not in ("event", "message") or not entry.kinds:
                continue
            keys = ("reason", "message", "type") if entry.where == "event" else ("message",)
            if all(entry.fits(k, e.get(k)) for k in keys):
                kinds += [k for k in entry.kinds if k not in kinds]
        if kinds and guess not in kinds:
            votes.update(kinds[:1])  # the kind of the first (most specific) entry it matches
        elif kinds:
            votes[guess] += 1
    if not votes:
        return guess
    best, n = votes.most_common(1)[0]
    return guess if votes[guess] >= n else best
