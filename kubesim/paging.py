"""The paging options of a list as kube-apiserver reads them: where a page starts and at which resourceVersion.

A continue token is kube-apiserver's own: base64url (unpadded) of ``{"v": "meta.k8s.io/v1", "rv": N, "start":
"<key after the last item>\\x00"}``, the key relative to the list's prefix (``name`` in a namespace,
``namespace/name`` across them). Every later page is read at the token's ``rv``, the version of the first page,
so a paged list is one consistent snapshot, whether it began at now or at an Exact version. A token whose version
the history no longer reaches is 410 Expired with a fresh token of ``rv`` -1, which continues at the newest
version (k8s.io/apiserver pkg/storage/continue.go, etcd3/errors.go). With a token, ``resourceVersionMatch`` is a
422 and a ``resourceVersion`` other than 0 a 400 (apimachinery's ValidateListOptions, apiserver's storage
ValidateListOptions). A first page with ``limit`` and a ``resourceVersion`` but no match is read at that version
as well, as the watch cache hands it to etcd.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

INCONSISTENT = (
    "The provided continue parameter is too old to display a consistent list result. You can start a "
    "new list without the continue parameter, or use the continue token in this response to retrieve "
    "the remainder of the results. Continuing with the provided token results in an inconsistent list "
    "- objects that were created, modified, or deleted between the time the first chunk was returned "
    "and now may show up in the list."
)


class ListOptionsError(Exception):
    """A list request a real API server refuses: code, reason, message, the Status's details and, for an expired
    token, the token (the Status's ``metadata.continue``) that goes on at the newest version."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        continue_token: str | None = None,
    ):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.continue_token = continue_token


@dataclass(frozen=True)
class Page:
    """Where a page starts (after this (namespace, name)) and the version it is read at (None: the newest)."""

    start_after: tuple[str, str] | None
    read_at: int | None


def _forbidden(message: str) -> ListOptionsError:
    return ListOptionsError(
        422,
        "Invalid",
        f'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: {message}',
        {
            "group": "meta.k8s.io",
            "kind": "ListOptions",
            "causes": [
                {"reason": "FieldValueForbidden", "message": f"Forbidden: {message}", "field": "resourceVersionMatch"}
            ],
        },
    )


def page(query: Any, namespace: str | None, namespaced: bool) -> Page:
    """The page a list request asks for, or the ListOptionsError a real server answers it with."""
    match, rv, token = query.get("resourceVersionMatch"), query.get("resourceVersion"), query.get("continue")
    if match:
        if not rv:
            raise _forbidden("resourceVersionMatch is forbidden unless resourceVersion is provided")
        if token:
            raise _forbidden("resourceVersionMatch is forbidden when continue is provided")
        if match == "Exact" and rv == "0":
            raise _forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
    if token:
        read_at, start_after = decode(token, namespace, namespaced)
        if rv and rv != "0":
            raise ListOptionsError(400, "BadRequest", "specifying resource version is not allowed when using continue")
        return Page(start_after, read_at if read_at > 0 else None)
    # Exact, or the legacy form: a page (limit) of resourceVersion N with no match is read at N from etcd too.
    if match == "Exact" or (not match and rv and rv != "0" and query.get("limit") not in (None, "", "0")):
        try:
            return Page(None, int(rv))
        except ValueError:
            raise ListOptionsError(400, "BadRequest", f"invalid resource version: {rv}") from None
    return Page(None, None)


def encode(rv: int, last: tuple[str, str], namespace: str | None, namespaced: bool) -> str:
    """The continue token of a page read at rv whose last item is last."""
    start = f"{last[0]}/{last[1]}" if namespaced and namespace is None else last[1]
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, namespace: str | None, namespaced: bool) -> tuple[int, tuple[str, str]]:
    """(rv, the (namespace, name) the next page starts after) of a continue token."""

    def invalid(why: str) -> ListOptionsError:
        return ListOptionsError(400, "BadRequest", f"invalid continue token: continue key is not valid{why}")

    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as exc:
        raise invalid(f": {exc}") from None
    if not isinstance(data, dict):
        raise invalid(": not an object")
    if data.get("v") != "meta.k8s.io/v1":
        raise invalid(f": server does not recognize this encoded version {data.get('v')}")
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or rv == 0:
        raise invalid(": incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    if not isinstance(start, str) or not start:
        raise invalid(": encoded start key empty (version meta.k8s.io/v1)")
    key = start.removesuffix("\x00")
    if namespaced and namespace is None:
        ns, _, name = key.partition("/")
        return rv, (ns, name)
    return rv, (namespace or "", key)


def expired(token: str) -> ListOptionsError:
    """The 410 for a token whose version is compacted away; its details carry the token that continues at now."""
    raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    fresh = base64.urlsafe_b64encode(json.dumps({**raw, "rv": -1}, separators=(",", ":")).encode())
    return ListOptionsError(410, "Expired", INCONSISTENT, continue_token=fresh.decode().rstrip("="))


__all__ = ["ListOptionsError", "Page", "decode", "encode", "expired", "page"]
