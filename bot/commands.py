"""Parsing what people type after ``/k8s``. Nothing typed is ever executed; names are validated by the core."""

from __future__ import annotations

import re
from dataclasses import dataclass

SUBCOMMANDS = ("why", "status", "history", "playbooks", "mute", "unmute", "incidents", "help")
INCIDENT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Command:
    name: str  # one of SUBCOMMANDS; "help" for anything unknown
    args: tuple[str, ...] = ()
    namespace: str | None = None
    unknown: str | None = None  # the unknown subcommand the user typed, for the help reply
    error: str | None = None
    incident: str | None = None  # --incident REF: the diagnosis and every click on it join that incident


def parse(text: str) -> Command:
    tokens = (text or "").split()
    if not tokens:
        return Command("help")
    name, rest = tokens[0].lower(), tokens[1:]
    if name not in SUBCOMMANDS:
        return Command("help", unknown=tokens[0][:40])
    args: list[str] = []
    namespace = incident = None
    i = 0
    while i < len(rest):
        tok = rest[i]
        if tok == "--incident":
            if i + 1 >= len(rest) or not INCIDENT_REF.fullmatch(rest[i + 1]):
                return Command(
                    name, error="--incident needs a reference such as `INC-42` (letters, digits, `.`, `_`, `-`)"
                )
            incident = rest[i + 1]
            i += 2
            continue
        if tok in ("-n", "--namespace"):
            if i + 1 >= len(rest):
                return Command(name, error=f"{tok} needs a namespace, e.g. `/k8s {name} pod-x -n prod`")
            namespace = rest[i + 1]
            i += 2
            continue
        if tok.startswith("--namespace="):
            namespace = tok.split("=", 1)[1]
        else:
            args.append(tok)
        i += 1
    if name == "why" and not args:
        return Command(
            name,
            namespace=namespace,
            error="Tell me what to look at: `/k8s why pod-name` or `/k8s why deploy/api -n prod`.",
        )
    if name == "mute" and len(args) not in (0, 2):  # none: list kubewhy's mutes and Alertmanager's silences
        return Command(
            name,
            namespace=namespace,
            error="Mute one target for a while: `/k8s mute node/worker-3 2h` or "
            "`/k8s mute deploy/shop/api 30m` (or `ns/NAME` for a namespace); `/k8s mute` alone lists the mutes.",
        )
    if name == "unmute" and len(args) != 1:
        return Command(name, namespace=namespace, error="Unmute one target: `/k8s unmute node/worker-3`.")
    if name == "why" and len(args) > 1:
        return Command(name, namespace=namespace, error="One target at a time: `/k8s why pod-name [-n namespace]`.")
    return Command(name, tuple(args), namespace, incident=incident)
