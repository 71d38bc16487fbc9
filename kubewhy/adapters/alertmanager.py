"""Alertmanager's API v2 over HTTP (aiohttp, the project's runtime client): the silences kubewhy reads and the ones
a person's "Snooze 2h" creates. Configured headers go on every call (an Alertmanager behind an auth proxy).
Every failure becomes :class:`AlertmanagerError`, naming the URL, never a traceback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiohttp

from ..errors import AdapterError
from ..settings import AlertmanagerSettings


class AlertmanagerError(AdapterError):
    """Alertmanager did not answer, or answered something unusable."""


class Alertmanager:
    def __init__(self, settings: AlertmanagerSettings):
        if not settings.url:
            raise AlertmanagerError("no Alertmanager configured (KUBEWHY_ALERTMANAGER_URL)")
        self.url = settings.url
        self.headers = dict(settings.headers)
        self.timeout = aiohttp.ClientTimeout(total=settings.timeout)

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout, headers=self.headers) as session,
                session.request(method, self.url + path, json=body) as answer,
            ):
                text = await answer.text()
                if answer.status >= 400:
                    raise AlertmanagerError(f"Alertmanager {self.url}: {method} {path}: {answer.status} {text[:200]}")
                return await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise AlertmanagerError(f"Alertmanager {self.url}: {method} {path}: {type(exc).__name__}: {exc}") from exc

    async def silences(self) -> list[dict[str, Any]]:
        """The silences in force (``status.state == active``)."""
        found = await self._call("GET", "/api/v2/silences")
        if not isinstance(found, list):
            raise AlertmanagerError(f"Alertmanager {self.url}: /api/v2/silences did not answer a list")
        return [s for s in found if isinstance(s, dict) and (s.get("status") or {}).get("state") == "active"]

    async def create_silence(
        self,
        matchers: Sequence[dict[str, Any]],
        *,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """The new silence's id."""
        answer = await self._call(
            "POST",
            "/api/v2/silences",
            {
                "matchers": list(matchers),
                "startsAt": starts_at.isoformat(),
                "endsAt": ends_at.isoformat(),
                "createdBy": created_by,
                "comment": comment,
            },
        )
        if not isinstance(answer, dict) or not answer.get("silenceID"):
            raise AlertmanagerError(f"Alertmanager {self.url}: creating a silence answered no silenceID")
        return str(answer["silenceID"])


__all__ = ["Alertmanager", "AlertmanagerError"]
