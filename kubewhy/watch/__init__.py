"""The watchers: informers (paged LIST + WATCH into a small cache), rules that turn transitions into incidents,
the incident ledger that pages exactly once, and the Lease that makes one replica the pager.

Front-ends (``kubewhy watch`` and ``k8sbot`` in ``bot/``, the TUI's live lists) run these on the process's
application object (:class:`kubewhy.app.Kubewhy`) and plug in a notifier; nothing here imports Slack or Textual.
"""
