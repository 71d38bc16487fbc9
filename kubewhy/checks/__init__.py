"""Built-in check functions that playbooks call by name (``use: events``)."""

from . import builtin  # noqa: F401  (registers the checks)
