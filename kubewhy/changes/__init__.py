"""What changed: a timeline of rollouts, configuration, nodes and scaling read from what the API still holds
(docs/changes.md). :func:`~kubewhy.changes.timeline.timeline` serves ``kubewhy changes``;
:func:`~kubewhy.changes.evidence.before_onset` adds the changes before the onset to every diagnosis."""

from .model import Change, Ranked, Timeline

__all__ = ["Change", "Ranked", "Timeline"]
