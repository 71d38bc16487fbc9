"""The audit log: every diagnosis, alert and fix (and who asked, approved, applied) in SQLite or Postgres.

Front-ends record through :class:`AuditLog` (non-blocking); ``kubewhy history`` and ``kubewhy postmortem`` read it.
"""

from .records import (
    AlertRecord,
    AuditRecorder,
    DiagnosisRecord,
    FixEvent,
    FixProposed,
    IncidentOpened,
    IncidentResolved,
    Record,
)
from .retention import schedule_retention
from .writer import AuditLog, RetryPolicy

__all__ = ["AlertRecord", "AuditLog", "AuditRecorder", "DiagnosisRecord", "FixEvent", "FixProposed",
           "IncidentOpened", "IncidentResolved", "Record", "RetryPolicy", "schedule_retention"]
