"""Check functions that playbooks call by name (``use: events``), and the registry they are looked up in.

Nothing is registered by importing a module: :func:`default_registry` returns a fresh registry holding the
built-ins, which a caller may extend (``@check("mine", registry=reg)``) without touching anyone else's.
"""

from __future__ import annotations

from . import kubelet as _kubelet_checks  # noqa: F401 - registers the kubelet_* checks in BUILTIN
from .builtin import BUILTIN
from .registry import CheckContext, CheckDef, CheckRegistry, Param, check


def default_registry() -> CheckRegistry:
    """A new registry holding the built-in checks (documented in docs/playbooks.md)."""
    return BUILTIN.copy()


__all__ = ["CheckContext", "CheckDef", "CheckRegistry", "Param", "check", "default_registry"]
