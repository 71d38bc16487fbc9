"""kubewhy's own exceptions. Adapters convert library errors into these at the edge (``raise ... from exc``)."""

from __future__ import annotations


class KubewhyError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class UsageError(KubewhyError):
    """Malformed target, unknown kind, invalid name: the user typed something we can refuse before any API call."""

    exit_code = 2


class TargetNotFound(KubewhyError):
    exit_code = 3

    def __init__(self, message: str, suggestions: list[str] | None = None):
        super().__init__(message)
        self.suggestions = suggestions or []


class AdapterError(KubewhyError):
    """A backend (cluster, Prometheus, database) failed; the message names the endpoint."""


class ClusterUnreachable(AdapterError):
    exit_code = 4


class KubeApiError(AdapterError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class PromError(AdapterError):
    pass


class PromTimeout(PromError, TimeoutError):
    """A Prometheus query ran past its timeout (the server was slow or hung); a check reports it as a timeout."""


class PlaybookError(KubewhyError):
    """A playbook file that cannot be used; ``location`` is "file:line"."""

    exit_code = 2

    def __init__(self, location: str, message: str):
        super().__init__(f"{location}: {message}")
        self.location = location
        self.detail = message


class CheckSkipped(Exception):
    """Raised by a check that cannot run in this environment (e.g. no Prometheus configured).

    ``reason`` is the typed cause the result carries (see ``CheckReason`` in kubewhy/models/findings.py).
    """

    def __init__(self, message: str, *, reason: str = "skipped"):
        super().__init__(message)
        self.reason = reason


class AuditStoreError(AdapterError):
    """The audit database could not be read or changed; the message names the database (without password)."""
