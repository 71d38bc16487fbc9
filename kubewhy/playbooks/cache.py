"""The playbook compile cache: a compiled playbook file, kept as JSON in the user's cache directory.

Parsing YAML with line numbers, validating against the schema and compiling every CEL expression costs about
0.2 s for the bundled catalogue, on every run. A file that loaded without an error is written here once, in its
compiled form (expressions as source text, compiled again on first use: see :class:`kubewhy.expressions.Expr`),
and read back on the next run instead of being parsed.

- **Key.** The SHA-256 of the file's bytes, of the code that decides what a file compiles to (the loader, the
  schema, the expression compiler and the CEL runtime's file, the kinds table, the check samples) and of the
  check registry's names, parameters and result shapes. A changed file, a new kubewhy or another registry is a
  miss: the file is parsed again and its entry rewritten. Entries are named by their key and hold it, so an
  entry is used only for exactly the bytes it was made from.
- **Errors.** Only files without errors are cached; a broken playbook is parsed every time, so its
  ``file:line`` errors are always those of the file as it is now.
- **Never a wrong answer.** An unreadable, truncated or foreign entry (bad JSON, another format, a check the
  registry lacks, a value this module cannot write back exactly) counts as a miss. Writes go to a temporary file
  renamed into place, so readers never see half an entry. A cache directory that cannot be written only means
  parsing every time.

The directory comes from the settings (``$XDG_CACHE_HOME/kubewhy``, else ``~/.cache/kubewhy``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .. import celrt
from ..checks.registry import CheckRegistry
from ..expressions import Expr, Template, compile_template
from ..models.playbook import CheckSpec, EachEvidence, FixSpec, PatchSpec, Playbook

FORMAT = 2
_HERE = Path(__file__).resolve().parent
_CODE = [
    _HERE / "loader.py",
    _HERE / "cache.py",
    _HERE.parent / "models" / "playbook.py",
    _HERE.parent / "models" / "playbook_format.py",
    _HERE.parent / "expressions.py",
    _HERE.parent / "checks" / "registry.py",
    _HERE.parent / "checks" / "samples.py",
    _HERE.parent / "kinds.py",
    _HERE.parent / "yamlsrc.py",
]


class Unencodable(ValueError):
    """A value JSON cannot carry back exactly (a non-string map key, a date): that file is not cached."""


def code_fingerprint() -> bytes:
    digest = hashlib.sha256(f"kubewhy-playbook-cache/{FORMAT}".encode())
    for path in _CODE:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"missing:" + str(path).encode())
    try:
        st = os.stat(celrt.ORIGIN)
        digest.update(f"{celrt.ORIGIN}:{st.st_size}:{st.st_mtime_ns}".encode())
    except OSError:
        digest.update(b"cel:" + celrt.ORIGIN.encode())
    return digest.digest()


def registry_fingerprint(registry: CheckRegistry) -> bytes:
    """What of the registry a compiled playbook depends on: the checks' names, parameters and result shapes."""
    described = [[d.name, sorted([k, p.type, p.required] for k, p in d.params.items()), d.result] for d in registry]
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).digest()


class PlaybookCache:
    """Compiled playbook files under ``directory/playbooks``, for one registry."""

    def __init__(self, directory: Path, registry: CheckRegistry):
        self.directory = Path(directory) / "playbooks"
        self.registry = registry
        self._base = code_fingerprint() + registry_fingerprint(registry)
        self.hits = 0
        self.misses = 0

    def key(self, content: bytes) -> str:
        return hashlib.sha256(self._base + content).hexdigest()

    def get(self, path: Path, content: bytes) -> list[Playbook] | None:
        """The compiled playbooks of ``content`` (the bytes of ``path``), or None on a miss."""
        key = self.key(content)
        try:
            entry = json.loads((self.directory / f"{key}.json").read_bytes())
            if entry.get("format") != FORMAT or entry.get("key") != key:
                raise ValueError("foreign entry")
            playbooks = [_decode(pb, str(path), self.registry) for pb in entry["playbooks"]]
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            self.misses += 1
            return None
        self.hits += 1
        return playbooks

    def put(self, content: bytes, playbooks: list[Playbook]) -> None:
        """Remember the compiled form of ``content``; silently nothing when it cannot be written."""
        key = self.key(content)
        try:
            text = json.dumps(
                {"format": FORMAT, "key": key, "playbooks": [_encode(pb) for pb in playbooks]},
                separators=(",", ":"),
                allow_nan=False,
            )
        except (Unencodable, ValueError, TypeError):
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{key[:16]}-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                os.replace(tmp, self.directory / f"{key}.json")
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass


# ---- the compiled form as JSON ------------------------------------------------------------------------------
# Plain values are written as they are, with two exceptions so that nothing is ambiguous: a template is
# {"$t": source} and a map is {"$d": {...}} (a playbook's own map could have a "$t" key).


def _value(value: Any) -> Any:
    if isinstance(value, Template):
        return {"$t": value.source}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise Unencodable("a map key that is not a string")
        return {"$d": {k: _value(v) for k, v in value.items()}}
    if isinstance(value, list):
        return [_value(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise Unencodable(f"a {type(value).__name__}")


def _unvalue(data: Any) -> Any:
    if isinstance(data, dict):
        if set(data) == {"$t"}:
            return compile_template(None, data["$t"])
        if set(data) == {"$d"}:
            return {k: _unvalue(v) for k, v in data["$d"].items()}
        raise ValueError("unexpected map")
    if isinstance(data, list):
        return [_unvalue(v) for v in data]
    return data


def _t(t: Template) -> str:
    return t.source


def _encode(pb: Playbook) -> dict[str, Any]:
    return {
        "id": pb.id,
        "title": pb.title,
        "description": pb.description,
        "applies_to": list(pb.applies_to),
        "stage": pb.stage,
        "severity": pb.severity,
        "symptom": pb.symptom.source,
        "checks": [[c.id, c.use, _value(c.params), list(c.needs), c.timeout] for c in pb.checks],
        "variables": [[name, e.source] for name, e in pb.variables],
        "when": pb.when.source,
        "summary": _t(pb.summary),
        "evidence": [
            {"each": e.each.source, "as": e.as_, "text": _t(e.text)} if isinstance(e, EachEvidence) else {"t": _t(e)}
            for e in pb.evidence
        ],
        "fixes": [
            {
                "title": _t(f.title),
                "command": _t(f.command),
                "risk": f.risk,
                "why": _t(f.why),
                "does_not_fix": f.does_not_fix,
                "when": f.when.source if f.when else None,
                "patch": None
                if f.patch is None
                else {"target": _t(f.patch.target), "type": f.patch.type, "body": _value(f.patch.body)},
            }
            for f in pb.fixes
        ],
        "caused_by": list(pb.caused_by),
        "chart": pb.chart,
        "severity_if": [[e.source, severity] for e, severity in pb.severity_if],
        "settle": pb.settle,
    }


def _tmpl(source: str) -> Template:
    return compile_template(None, source)


def _decode(d: dict[str, Any], source: str, registry: CheckRegistry) -> Playbook:
    checks = []
    for cid, use, params, needs, timeout in d["checks"]:
        definition = registry.get(use)
        if definition is None:
            raise KeyError(use)
        checks.append(CheckSpec(cid, use, _unvalue(params), tuple(needs), timeout, definition))
    evidence: list[Template | EachEvidence] = [
        EachEvidence(Expr(e["each"]), e["as"], _tmpl(e["text"])) if "each" in e else _tmpl(e["t"])
        for e in d["evidence"]
    ]
    fixes = [
        FixSpec(
            _tmpl(f["title"]),
            _tmpl(f["command"]),
            f["risk"],
            _tmpl(f["why"]),
            f["does_not_fix"],
            Expr(f["when"]) if f["when"] is not None else None,
            None
            if f["patch"] is None
            else PatchSpec(_tmpl(f["patch"]["target"]), f["patch"]["type"], _unvalue(f["patch"]["body"])),
        )
        for f in d["fixes"]
    ]
    return Playbook(
        id=d["id"],
        title=d["title"],
        description=d["description"],
        applies_to=tuple(d["applies_to"]),
        stage=d["stage"],
        severity=d["severity"],
        symptom=Expr(d["symptom"]),
        checks=tuple(checks),
        variables=tuple((name, Expr(src)) for name, src in d["variables"]),
        when=Expr(d["when"]),
        summary=_tmpl(d["summary"]),
        evidence=tuple(evidence),
        fixes=tuple(fixes),
        caused_by=tuple(d["caused_by"]),
        chart=d["chart"],
        source=source,
        severity_if=tuple((Expr(src), severity) for src, severity in d["severity_if"]),
        settle=d.get("settle"),
    )


__all__ = ["FORMAT", "PlaybookCache", "code_fingerprint", "registry_fingerprint"]
