"""Applying a proposed fix: always a server-side dry run first, then the real patch on approval."""

from __future__ import annotations

from dataclasses import dataclass

from .adapters.ports import KubeWriter
from .errors import KubeApiError, UsageError
from .models.findings import Patch


@dataclass(frozen=True)
class PatchResult:
    ok: bool
    dry_run: bool
    message: str
    resource_version: str | None = None


def describe_patch(patch: Patch) -> str:
    where = f"{patch.namespace}/" if patch.namespace else ""
    if patch.type == "delete":
        return f"deletion of {patch.kind.lower()} {where}{patch.name}"
    return f"{patch.type} patch of {patch.kind.lower()} {where}{patch.name}"


async def apply_patch(writer: KubeWriter | None, patch: Patch, *, dry_run: bool) -> PatchResult:
    """``writer``: the connection's ``capabilities.writer`` (None for a snapshot, which cannot be changed)."""
    if writer is None:
        raise UsageError("this cluster connection cannot apply changes (a snapshot is read-only)")
    try:
        if patch.type == "delete":
            obj = await writer.delete(patch.kind, patch.namespace, patch.name, patch.body, dry_run=dry_run)
        else:
            obj = await writer.patch(
                patch.kind, patch.namespace, patch.name, patch.body, patch_type=patch.type, dry_run=dry_run
            )
    except KubeApiError as exc:
        return PatchResult(False, dry_run, str(exc))
    except UsageError as exc:
        return PatchResult(False, dry_run, str(exc))
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    verb = (
        "would be accepted by the API server (dry run)"
        if dry_run
        else ("done" if patch.type == "delete" else "applied")
    )
    return PatchResult(True, dry_run, f"{describe_patch(patch)} {verb}", rv)
