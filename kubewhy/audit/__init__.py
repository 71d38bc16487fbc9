"""The audit log: every diagnosis, alert and fix (and who asked, approved, applied) in SQLite or Postgres.

Front-ends record through :class:`AuditLog` (non-blocking); ``kubewhy history`` and ``kubewhy postmortem`` read it.
The names below are imported on first use, so that importing one light module of the package (the writer in
spool mode, :mod:`.spool`) does not import SQLAlchemy, Alembic or pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "AlertRecord": "records",
    "AuditRecorder": "records",
    "DiagnosisRecord": "records",
    "FixEvent": "records",
    "FixProposed": "records",
    "IncidentOpened": "records",
    "IncidentResolved": "records",
    "Record": "records",
    "schedule_retention": "retention",
    "AuditLog": "writer",
    "RetryPolicy": "writer",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AlertRecord",
    "AuditLog",
    "AuditRecorder",
    "DiagnosisRecord",
    "FixEvent",
    "FixProposed",
    "IncidentOpened",
    "IncidentResolved",
    "Record",
    "RetryPolicy",
    "schedule_retention",
]
