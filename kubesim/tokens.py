"""TokenRequest (``POST .../serviceaccounts/NAME/token``, what ``kubectl create token`` sends).

The answer is the request with ``status.token``, a JWT of the shape a real API server signs (the issuer, the
``system:serviceaccount:NS:NAME`` subject, the audiences, ``exp``/``iat``/``nbf`` and the ``kubernetes.io``
claims naming the namespace and service account), and ``status.expirationTimestamp``. It is signed with a
key of this process (HS256): nothing in the simulator checks it, but a newcomer decoding it reads what a real
one says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_SECONDS = 3600
MIN_SECONDS = 600
_KEY = secrets.token_bytes(32)


class InvalidTokenRequest(ValueError):
    """A TokenRequest the API server refuses (422)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "HS256", "kid": "kubesim", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def issue(service_account: dict[str, Any], request: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """The TokenRequest answered for a service account object."""
    meta = service_account.get("metadata") or {}
    name, namespace = meta.get("name", ""), meta.get("namespace", "")
    spec = dict(request.get("spec") or {})
    seconds = spec.get("expirationSeconds") or DEFAULT_SECONDS
    if not isinstance(seconds, int) or seconds < MIN_SECONDS:
        raise InvalidTokenRequest(
            f'TokenRequest.authentication.k8s.io "{name}" is invalid: spec.expirationSeconds: '
            f"Invalid value: {seconds}: may not specify a duration less than 10 minutes"
        )
    audiences = spec.get("audiences") or [ISSUER]
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    expires = now + timedelta(seconds=seconds)
    k8s: dict[str, Any] = {"namespace": namespace, "serviceaccount": {"name": name, "uid": meta.get("uid", "")}}
    bound = spec.get("boundObjectRef")
    if bound:
        k8s[str(bound.get("kind", "")).lower() or "object"] = {
            "name": bound.get("name", ""),
            "uid": bound.get("uid", ""),
        }
    claims = {
        "aud": audiences,
        "exp": int(expires.timestamp()),
        "iat": int(now.timestamp()),
        "iss": ISSUER,
        "jti": str(uuid.uuid4()),
        "kubernetes.io": k8s,
        "nbf": int(now.timestamp()),
        "sub": f"system:serviceaccount:{namespace}:{name}",
    }
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": now.strftime(stamp)},
        "spec": {**spec, "audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": bound},
        "status": {"token": _jwt(claims), "expirationTimestamp": expires.strftime(stamp)},
    }


def verify(token: str, now: datetime | None = None) -> dict[str, Any] | None:
    """The claims of a token this process issued and that has not expired; None for anything else (a token
    that is not one of ours, a bad signature, an expired one)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = hmac.new(_KEY, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(_b64(expected), parts[2]):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    moment = (now or datetime.now(UTC)).timestamp()
    if not isinstance(claims, dict) or not claims.get("nbf", 0) <= moment < claims.get("exp", 0):
        return None
    return claims


def looks_like_jwt(token: str) -> bool:
    """A token shaped as a JWT: the API server would check it, and refuse it (401) if it does not verify."""
    return token.count(".") == 2 and token.startswith("eyJ")


__all__ = ["InvalidTokenRequest", "issue", "looks_like_jwt", "verify"]
