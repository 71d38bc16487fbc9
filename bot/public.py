"""What may be said in a channel about a failure: the kind of trouble, never the internals.

A cluster error carries the API server's URL and the HTTP library's exception (``MaxRetryError(...)``); a database
error carries its URL. Those go to the bot's log; the channel gets a sentence a user can act on.
"""

from __future__ import annotations

import logging
import re

from kubewhy.errors import (
    AdapterError,
    AuditStoreError,
    ClusterUnreachable,
    KubeApiError,
    KubewhyError,
    PromError,
    TargetNotFound,
    UsageError,
)

log = logging.getLogger("kubewhy.bot")

ECHO_LIMIT = 120  # characters of what someone typed that an answer may quote back

_INTERNAL = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://\S+|\b\w+(?:Error|Exception)\(.*|HTTPS?ConnectionPool\(.*"
    r"|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?)",
    re.IGNORECASE | re.DOTALL,
)


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """User input quoted back: at most ``limit`` characters."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scrub(text: str) -> str:
    """A detail line with URLs, addresses and library exception reprs cut out."""
    return _INTERNAL.sub("…", str(text)).strip()


def public_error(exc: BaseException, what: str = "") -> str:
    """One sentence for the channel; the full error is logged."""
    log.warning("%s failed: %s: %s", what or "request", type(exc).__name__, exc)
    if isinstance(exc, TargetNotFound | UsageError):
        return clip(str(exc), 400)
    if isinstance(exc, ClusterUnreachable):
        return "the cluster's API server cannot be reached right now; try again in a minute (details in the bot's log)"
    if isinstance(exc, KubeApiError) and exc.status in (401, 403):
        return (
            f"the API server refused the bot's credentials (HTTP {exc.status}); an operator needs to check its "
            "service account (details in the bot's log)"
        )
    if isinstance(exc, KubeApiError):
        status = f" (HTTP {exc.status})" if exc.status else ""
        return f"the API server answered with an error{status}; try again in a minute (details in the bot's log)"
    if isinstance(exc, PromError):
        return "Prometheus cannot be queried right now (details in the bot's log)"
    if isinstance(exc, AuditStoreError):
        return "the audit log cannot be read right now (details in the bot's log)"
    if isinstance(exc, KubewhyError) and not isinstance(exc, AdapterError):  # about the input: say it
        return clip(scrub(str(exc)), 400)
    return "something went wrong on the bot's side (details in the bot's log)"
