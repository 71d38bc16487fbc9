"""The watchers: informers (paged LIST + WATCH into a small cache), rules that turn transitions into incidents,
the incident ledger that pages exactly once, and the Lease that makes one replica the pager.

Front-ends (``kubewhy watch`` and ``k8sbot`` in ``bot/``, the TUI's live lists) build these through
:mod:`kubewhy.compose` and plug in a notifier; nothing here imports Slack or Textual.
"""
