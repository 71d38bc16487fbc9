"""What the user asked about: ``pod-x``, ``pod/x``, ``deploy/x`` ... parsed and validated before any API call."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import kinds
from ..errors import UsageError

# derived from the one kinds table (kubewhy/kinds.py)
KINDS: dict[str, str] = dict(kinds.TARGET_ALIASES)  # alias -> canonical kind, for the kinds kubewhy diagnoses
CLUSTER_SCOPED = {k for k in kinds.TARGETS if not kinds.info(k).namespaced}
SHORT: dict[str, str] = {k.kind: k.ref_name for k in kinds.TABLE}

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Target:
    kind: str
    name: str
    namespace: str | None  # None for cluster-scoped kinds

    def __str__(self) -> str:
        return f"{kinds.short_name(self.kind)}/{self.name}"

    @property
    def ref(self) -> str:
        """``kind/namespace/name`` (or ``kind/name`` when cluster-scoped), as in scenario expectations."""
        short = kinds.short_name(self.kind)
        return f"{short}/{self.namespace}/{self.name}" if self.namespace else f"{short}/{self.name}"

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name}


def validate_name(name: str, what: str = "name") -> None:
    if not name:
        raise UsageError(f"empty {what}")
    if len(name) > 253:
        raise UsageError(f"{what} {name[:40]!r}... is longer than 253 characters")
    if not _DNS1123_SUBDOMAIN.match(name):
        raise UsageError(
            f"{what} {name!r} is not a valid Kubernetes name: use lower-case letters, digits, '-' and "
            f"'.', starting and ending with a letter or digit"
        )


def validate_namespace(ns: str) -> None:
    if len(ns) > 63 or not _DNS1123_LABEL.match(ns):
        raise UsageError(f"namespace {ns!r} is not a valid Kubernetes namespace name")


def parse_target(text: str, namespace: str | None = None, default_namespace: str = "default") -> Target:
    """Parse ``pod-x``, ``pod/x``, ``node/x``, ``deploy/x``, ``svc/x``, ``pvc/x``, ``hpa/x``, ``cj/x`` (a CronJob:
    its latest Jobs) and ``kind/ns/name``."""
    text = (text or "").strip()
    if not text:
        raise UsageError("no target given: try e.g. 'kubewhy why pod/my-pod' or 'kubewhy why node/node-1'")
    parts = text.split("/")
    if len(parts) == 1:
        kind, ns, name = "Pod", namespace, parts[0]
    elif len(parts) == 2:
        alias, name = parts
        ns = namespace
        if alias.lower() not in KINDS:
            raise UsageError(
                f"unknown kind {alias!r} in {text!r}: use one of "
                f"{', '.join(kinds.info(k).ref_name for k in kinds.TARGETS)}"
            )
        kind = KINDS[alias.lower()]
    elif len(parts) == 3:
        alias, ns, name = parts
        if alias.lower() not in KINDS:
            raise UsageError(
                f"unknown kind {alias!r} in {text!r}: use one of "
                f"{', '.join(kinds.info(k).ref_name for k in kinds.TARGETS)}"
            )
        kind = KINDS[alias.lower()]
        validate_namespace(ns)
        if namespace and namespace != ns:
            raise UsageError(f"target {text!r} names namespace {ns!r} but -n says {namespace!r}")
    else:
        raise UsageError(f"cannot parse target {text!r}: expected NAME, KIND/NAME or KIND/NAMESPACE/NAME")
    validate_name(name)
    if kind in CLUSTER_SCOPED:
        return Target(kind, name, None)
    ns = ns or default_namespace
    validate_namespace(ns)
    return Target(kind, name, ns)
