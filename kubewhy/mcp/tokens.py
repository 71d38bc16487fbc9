"""Who an HTTP caller is: a bearer token mapped to a name and the namespaces that name may read
(``KUBEWHY_MCP_TOKENS``, a YAML file; docs/mcp.md). Only each token's SHA-256 is kept in the file, so the file
grants nothing if it leaks; a token is compared in constant time.

    # name: {token_sha256: HEX, namespaces: [NAMESPACE, ...]}   ("*": every namespace; default: none)
    alice:  {token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, namespaces: [shop]}
    oncall: {token_sha256: 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752, namespaces: ["*"]}

``printf %s "$TOKEN" | sha256sum`` gives the hash of a token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..yamlsrc import mapping_entries, read_source
from .caller import Caller, parse_namespaces

HEX = re.compile(r"[0-9a-f]{64}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._-]{0,99}")


class TokenFileError(UsageError):
    """A token file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class TokenMap:
    """Token hashes to callers (see the module docstring)."""

    callers: tuple[tuple[bytes, Caller], ...]
    source: str = ""

    def resolve(self, token: str) -> Caller | None:
        """The caller ``token`` belongs to, or None. Every entry is compared, so the time taken says nothing."""
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for known, caller in self.callers:
            if hmac.compare_digest(known, digest):
                found = caller
        return found

    def named(self, name: str) -> Caller | None:
        return next((c for _, c in self.callers if c.name == name), None)


def load_tokens(path: Path) -> TokenMap:
    return parse_tokens(read_source(path, "the MCP token file", TokenFileError), str(path))


def parse_tokens(text: str, source: str = "<tokens>") -> TokenMap:
    """:class:`TokenFileError` with ``file:line`` for anything wrong."""
    entries = mapping_entries(
        text,
        source,
        TokenFileError,
        expected="names to {token_sha256: …, namespaces: […]}",
        empty="no callers: expected NAME: {token_sha256: HEX, namespaces: [...]}",
    )
    callers: list[tuple[bytes, Caller]] = []
    for entry in entries:
        where, name, value = entry.where, entry.key, entry.value
        if not NAME.fullmatch(name):
            raise TokenFileError(f"{where}: {name!r} is not a caller name (letters, digits, @._-)")
        if not isinstance(value, dict) or set(value) - {"token_sha256", "namespaces"}:
            raise TokenFileError(f"{where}: {name}: expected {{token_sha256: HEX, namespaces: [NAMESPACE, …]}}")
        digest = value.get("token_sha256")
        if not (isinstance(digest, str) and HEX.fullmatch(digest)):
            raise TokenFileError(f"{where}: {name}: token_sha256 must be 64 lowercase hex digits (sha256sum)")
        namespaces = value.get("namespaces") or []
        if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces) or not namespaces:
            raise TokenFileError(f'{where}: {name}: namespaces must be a non-empty list ("*" for all)')
        try:
            allowed = tuple(n for each in namespaces for n in parse_namespaces(each, f"{name}: namespaces"))
        except UsageError as exc:
            raise TokenFileError(f"{where}: {exc}") from None
        if len(allowed) != len(namespaces):
            raise TokenFileError(f"{where}: {name}: one namespace per list item")
        if any(bytes.fromhex(digest) == known for known, _ in callers):
            raise TokenFileError(f"{where}: {name}: the same token as another caller")
        callers.append((bytes.fromhex(digest), Caller(name, allowed)))
    return TokenMap(tuple(callers), source)


__all__ = ["TokenFileError", "TokenMap", "load_tokens", "parse_tokens"]
