"""``vocabulary.yaml`` → validated, compiled :class:`Vocabulary`; every error names the file and line.

The file is data a person extends by reading Kubernetes' source, so it is checked as strictly as a playbook:
unknown keys, a ``where`` the matcher does not know, a regular expression that does not compile, an entry with
both or neither of ``finding`` and ``informational``, a finding id with no next step — each is an error at its
line, never a silent miss at diagnosis time.

``sources`` records what was read: each ``emitted_at`` path → the 40-hex commit of the file version actually read
(the files come from wherever they could be read, not all from ``kubernetes.commit``). When ``sources`` is present,
every path an entry cites must have its commit there, and every source must be cited by some entry. ``unread``
lists the cited paths whose stored version was not read (their link shows the file, but nobody checked it); an
entry's ``unverified`` says why its reason could not be confirmed in the version read.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PlaybookError
from ..models.findings import SEVERITY_RANK, STAGES

if TYPE_CHECKING:
    from ..yamlsrc import Doc

API_VERSION = "kubewhy.io/v1"
KIND = "ReasonVocabulary"
BUNDLED = "vocabulary.yaml"

# where → (the match keys it allows, the match keys it needs)
WHERE: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "pod.reason": (frozenset({"reason", "message"}), frozenset({"reason"})),
    "pod.condition": (frozenset({"type", "status", "reason", "message"}), frozenset({"type", "status"})),
    "container.waiting": (frozenset({"reason", "message"}), frozenset({"reason"})),
    "container.terminated": (frozenset({"reason", "exitCode", "message"}), frozenset({"reason"})),
    "event": (frozenset({"reason", "message", "type"}), frozenset({"reason"})),
    "message": (frozenset({"message"}), frozenset({"message"})),
    "condition": (frozenset({"type", "status", "reason", "message"}), frozenset({"type", "status"})),
    "taint": (frozenset({"key", "effect"}), frozenset({"key"})),
    "phase": (frozenset({"phase"}), frozenset({"phase"})),
}
NEEDS_KINDS = frozenset({"event", "message", "condition", "phase"})
FULL_MATCH = frozenset({"reason", "type", "status", "key", "effect", "phase"})  # the rest are searched
PLACEHOLDERS = frozenset({"namespace", "kind", "name", "node"})
_ENTRY_KEYS = frozenset(
    {
        "id",
        "where",
        "match",
        "kinds",
        "emitted_at",
        "unverified",
        "variants",
        "finding",
        "informational",
        "why",
        "example",
    }
)
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_COMMIT = re.compile(r"[0-9a-f]{40}")


class VocabularyError(PlaybookError):
    """The vocabulary file cannot be used; ``location`` is "file:line"."""


@dataclass(frozen=True)
class NextStep:
    """A finding's next step: a title, a command with placeholders, and why."""

    title: str
    command: str
    why: str = ""


@dataclass(frozen=True)
class FindingInfo:
    """What the vocabulary says about a finding id: the next step, and for an id no playbook provides, its
    title, severity and stage (a bundled playbook's own are used otherwise)."""

    id: str
    next_step: NextStep
    title: str = ""
    severity: str = ""
    stage: str = ""


@dataclass(frozen=True)
class Entry:
    """One reason Kubernetes writes: where it is written, what matches it, and the finding it names."""

    id: str
    where: str
    match: dict[str, Any]
    kinds: tuple[str, ...]
    emitted_at: tuple[str, ...]
    why: str
    example: dict[str, Any]
    line: int
    finding: str = ""
    informational: str = ""
    variants: tuple[dict[str, str], ...] = ()
    unverified: str = ""

    def fits(self, key: str, value: Any) -> bool:
        """Whether ``value`` satisfies the match key: regexes for text, equality for an exit code."""
        if key not in self.match:
            return True
        if key == "exitCode":
            wanted = self.match[key]
            return value in wanted if isinstance(wanted, list) else value == wanted
        if value is None:
            return False
        return _matcher(self.match[key], key in FULL_MATCH)(str(value))


_LITERALS = re.compile(r"^[A-Za-z0-9 _:/.,'-]+(\|[A-Za-z0-9 _:/.,'-]+)*$")


@lru_cache(maxsize=1024)
def _matcher(pattern: str, full: bool) -> Callable[[str], bool]:
    """A pattern compiled on first use (most entries never meet a value of their kind in one diagnosis); a plain
    word or alternation of words (``Created|Started``, most reasons) is a set lookup or a substring test."""
    if _LITERALS.match(pattern) and "." not in pattern:
        words = frozenset(pattern.split("|"))
        if full:
            return words.__contains__
        return lambda text: any(w in text for w in words)
    rx = re.compile(pattern)
    if full:
        return lambda text: rx.fullmatch(text) is not None
    return lambda text: rx.search(text) is not None


@dataclass(frozen=True)
class Vocabulary:
    """The validated vocabulary: the Kubernetes release it was read from, its findings and its entries."""

    version: str
    commit: str
    repository: str
    findings: dict[str, FindingInfo]
    entries: tuple[Entry, ...]
    source: str = BUNDLED
    sources: dict[str, str] = field(default_factory=dict)
    unread: frozenset[str] = frozenset()

    def finding_ids(self) -> set[str]:
        return {e.finding for e in self.entries if e.finding}

    def commit_of(self, path: str) -> str:
        """The commit at which ``path`` was read: its own under ``sources``, else the release commit."""
        return self.sources.get(path, self.commit)


def load(text: str, source: str = BUNDLED) -> Vocabulary:
    """Parse and validate the vocabulary; raises :class:`VocabularyError` at the first problem, with its line."""
    from ..yamlsrc import YamlSourceError, documents  # not needed when the vocabulary comes from the cache

    try:
        docs = list(documents(text))
    except YamlSourceError as exc:
        raise VocabularyError(f"{source}:{exc.line or 1}", str(exc)) from None
    if len(docs) != 1 or not isinstance(docs[0].data, dict):
        raise VocabularyError(
            f"{source}:1", "expected one YAML mapping (apiVersion, kind, kubernetes, findings, entries)"
        )
    return _Reader(source, docs[0]).vocabulary()


CACHE_FORMAT = 1


def _bundled_path() -> Any:
    """The bundled file: next to this module when kubewhy is on disk (what importlib.resources answers then,
    without importing its readers), else through importlib.resources."""
    here = Path(__file__).parent / BUNDLED
    if here.is_file():
        return here
    from importlib import resources

    return resources.files("kubewhy.reasons").joinpath(BUNDLED)


@lru_cache(maxsize=4)
def bundled(cache: Path | None = None) -> Vocabulary:
    """The vocabulary shipped with kubewhy (read once per process). With a cache directory (the settings'
    ``cache_dir``, as for the playbook compile cache) the validated file is kept there as JSON, keyed by the
    SHA-256 of its bytes and of this module, and read back without parsing YAML (a third of ``kubewhy why``'s
    start-up otherwise). An unreadable or foreign entry is a miss; a directory that cannot be written only means
    parsing every time."""
    path = _bundled_path()
    raw = path.read_bytes()
    entry = None
    if cache is not None:
        digest = hashlib.sha256(f"kubewhy-vocabulary/{CACHE_FORMAT}".encode())
        digest.update(raw)
        digest.update(Path(__file__).read_bytes())
        entry = cache / f"vocabulary-{digest.hexdigest()[:40]}.json"
        try:
            kept = json.loads(entry.read_text(encoding="utf-8"))
            return _Reader(str(path), _KeptDoc(kept["data"], kept["lines"]), trusted=True).vocabulary()
        except (OSError, ValueError, KeyError, TypeError, VocabularyError):
            pass  # a miss: parse the file
    from ..yamlsrc import documents

    text = raw.decode("utf-8")
    docs = list(documents(text)) if cache is not None else []
    vocab = load(text, str(path))
    if entry is not None and len(docs) == 1:
        lines = {str(i): docs[0].line_of(("entries", i)) for i in range(len(vocab.entries))}
        _write_atomically(entry, json.dumps({"data": docs[0].data, "lines": lines}))
    return vocab


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vocabulary-")
        with open(fd, "w", encoding="utf-8") as f:
            f.write(text)
        Path(tmp).replace(path)
    except (OSError, TypeError, ValueError):
        pass


class _KeptDoc:
    """A cached vocabulary read back: its data, and the line of each entry (errors cannot occur in it: it was
    validated before it was kept; other lines read as 1)."""

    def __init__(self, data: Any, lines: dict[str, int]):
        self.data = data
        self.lines = lines

    def line_of(self, loc: tuple[Any, ...]) -> int:
        if len(loc) >= 2 and loc[0] == "entries":
            return int(self.lines.get(str(loc[1]), 1))
        return 1


class _Reader:
    def __init__(self, source: str, doc: Doc | _KeptDoc, *, trusted: bool = False):
        self.source = source
        self.doc = doc
        self.trusted = trusted  # read back from the cache: validated when it was kept, entries not checked again

    def fail(self, loc: tuple[Any, ...], message: str) -> VocabularyError:
        return VocabularyError(f"{self.source}:{self.doc.line_of(loc)}", message)

    def text(self, value: Any, loc: tuple[Any, ...], *, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(loc, f"{'.'.join(map(str, loc))} must be a non-empty string")
        return value

    def keys(self, data: Any, allowed: frozenset[str], loc: tuple[Any, ...]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(loc, f"{'.'.join(map(str, loc)) or 'the file'} must be a mapping")
        unknown = sorted(set(map(str, data)) - allowed)
        if unknown:
            raise self.fail((*loc, unknown[0]), f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        return data

    def vocabulary(self) -> Vocabulary:
        data = self.keys(
            self.doc.data,
            frozenset({"apiVersion", "kind", "kubernetes", "sources", "unread", "findings", "entries"}),
            (),
        )
        if data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
            raise self.fail(("apiVersion",), f"expected apiVersion: {API_VERSION} and kind: {KIND}")
        k8s = self.keys(data.get("kubernetes"), frozenset({"version", "commit", "repository"}), ("kubernetes",))
        version = self.text(k8s.get("version"), ("kubernetes", "version"))
        if not re.fullmatch(r"v1\.\d+\.\d+", version):
            raise self.fail(("kubernetes", "version"), f"kubernetes.version {version!r} is not a release tag (v1.N.M)")
        commit = self.text(k8s.get("commit"), ("kubernetes", "commit"))
        if not _COMMIT.fullmatch(commit):
            raise self.fail(("kubernetes", "commit"), "kubernetes.commit must be a 40-hex commit id")
        repository = self.text(k8s.get("repository"), ("kubernetes", "repository"))
        sources = self.sources(data)
        unread = self.unread(data, sources)
        raw_findings = data.get("findings") or {}
        if not isinstance(raw_findings, dict):
            raise self.fail(("findings",), "findings must be a mapping of finding id → next step")
        findings = {str(fid): self.finding(str(fid), body) for fid, body in raw_findings.items()}
        raw_entries = data.get("entries")
        if not isinstance(raw_entries, list) or not raw_entries:
            raise self.fail(("entries",), "entries must be a non-empty list")
        entries: list[Entry] = []
        seen: set[str] = set()
        for i, raw in enumerate(raw_entries):
            entry = self.entry(i, raw)
            if entry.id in seen:
                raise self.fail(("entries", i, "id"), f"duplicate entry id {entry.id!r}")
            seen.add(entry.id)
            if entry.finding and entry.finding not in findings:
                raise self.fail(
                    ("entries", i, "finding"), f"finding {entry.finding!r} has no next step under findings:"
                )
            if sources is not None:
                for path in entry.emitted_at:
                    if path not in sources:
                        raise self.fail(
                            ("entries", i), f"entry {entry.id}: emitted_at path {path} has no commit under sources:"
                        )
            entries.append(entry)
        if sources is not None:
            cited = {p for e in entries for p in e.emitted_at}
            for path in sources:
                if path not in cited:
                    raise self.fail(("sources", path), f"sources: {path} is cited by no entry's emitted_at")
        return Vocabulary(version, commit, repository, findings, tuple(entries), self.source, sources or {}, unread)

    def unread(self, data: dict[str, Any], sources: dict[str, str] | None) -> frozenset[str]:
        """``unread:``: cited paths whose stored version was not read; each must be a source."""
        raw = data.get("unread") or []
        if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
            raise self.fail(("unread",), "unread must be a list of paths listed under sources:")
        for i, path in enumerate(raw):
            if sources is None or path not in sources:
                raise self.fail(("unread", i), f"unread: {path} is not listed under sources:")
        return frozenset(raw)

    def sources(self, data: dict[str, Any]) -> dict[str, str] | None:
        """``sources:`` (path → the commit read), or None when the file has none."""
        if "sources" not in data:
            return None
        raw = data["sources"]
        if not isinstance(raw, dict) or not raw:
            raise self.fail(("sources",), "sources must be a mapping of emitted_at path → the 40-hex commit read")
        out: dict[str, str] = {}
        for path, commit in raw.items():
            if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
                raise self.fail(("sources", path), f"sources: {path}: {commit!r} is not a 40-hex commit id")
            out[str(path)] = commit
        return out

    def finding(self, fid: str, body: Any) -> FindingInfo:
        loc: tuple[Any, ...] = ("findings", fid)
        if not _ID.match(fid):
            raise self.fail(loc, f"finding id {fid!r} must be kebab-case")
        body = self.keys(body, frozenset({"title", "severity", "stage", "next_step"}), loc)
        step = self.keys(body.get("next_step"), frozenset({"title", "command", "why"}), (*loc, "next_step"))
        command = self.text(step.get("command"), (*loc, "next_step", "command"))
        for hole in re.findall(r"\{(\w*)\}", command):
            if hole not in PLACEHOLDERS:
                raise self.fail(
                    (*loc, "next_step", "command"),
                    f"unknown placeholder {{{hole}}} (allowed: {', '.join(sorted(PLACEHOLDERS))})",
                )
        severity = self.text(body.get("severity"), (*loc, "severity"), required=False)
        if severity and severity not in SEVERITY_RANK:
            raise self.fail((*loc, "severity"), f"severity must be one of {', '.join(SEVERITY_RANK)}")
        stage = self.text(body.get("stage"), (*loc, "stage"), required=False)
        if stage and stage not in STAGES:
            raise self.fail((*loc, "stage"), f"stage must be one of {', '.join(STAGES)}")
        return FindingInfo(
            fid,
            NextStep(
                self.text(step.get("title"), (*loc, "next_step", "title")),
                command,
                self.text(step.get("why"), (*loc, "next_step", "why"), required=False),
            ),
            self.text(body.get("title"), (*loc, "title"), required=False),
            severity,
            stage,
        )

    def entry(self, i: int, raw: Any) -> Entry:
        loc: tuple[Any, ...] = ("entries", i)
        if self.trusted:  # read back from the cache, where only a validated vocabulary is kept
            return Entry(
                id=raw["id"],
                where=raw["where"],
                match=dict(raw["match"]),
                kinds=tuple(raw.get("kinds") or []),
                emitted_at=tuple(raw["emitted_at"]),
                why=raw["why"],
                example=dict(raw["example"]),
                line=self.doc.line_of(loc),
                finding=raw.get("finding") or "",
                informational=raw.get("informational") or "",
                variants=tuple(dict(v) for v in raw.get("variants") or []),
                unverified=raw.get("unverified") or "",
            )
        raw = self.keys(raw, _ENTRY_KEYS, loc)
        eid = self.text(raw.get("id"), (*loc, "id"))
        if not _ID.match(eid):
            raise self.fail((*loc, "id"), f"entry id {eid!r} must be kebab-case")
        where = self.text(raw.get("where"), (*loc, "where"))
        if where not in WHERE:
            raise self.fail((*loc, "where"), f"entry {eid}: where {where!r} is not one of {', '.join(WHERE)}")
        allowed, needed = WHERE[where]
        match = self.keys(raw.get("match"), allowed, (*loc, "match"))
        missing = sorted(needed - set(match))
        if missing:
            raise self.fail((*loc, "match"), f"entry {eid}: match needs {', '.join(missing)} for where: {where}")
        for key, value in match.items():
            if key == "exitCode":
                ok = isinstance(value, int) or (isinstance(value, list) and all(isinstance(v, int) for v in value))
                if not ok:
                    raise self.fail((*loc, "match", key), f"entry {eid}: exitCode must be an integer or a list of them")
                continue
            try:
                re.compile(self.text(value, (*loc, "match", key)))
            except re.error as exc:
                raise self.fail(
                    (*loc, "match", key), f"entry {eid}: match.{key} is not a regular expression: {exc}"
                ) from None
        kinds = raw.get("kinds") or []
        if not isinstance(kinds, list) or not all(isinstance(k, str) and k for k in kinds):
            raise self.fail((*loc, "kinds"), f"entry {eid}: kinds must be a list of kinds (Pod, Node, Deployment, …)")
        if where in NEEDS_KINDS and not kinds:
            raise self.fail((*loc, "kinds"), f"entry {eid}: where: {where} needs kinds")
        emitted = raw.get("emitted_at")
        if not isinstance(emitted, list) or not emitted or not all(isinstance(p, str) and p for p in emitted):
            raise self.fail((*loc, "emitted_at"), f"entry {eid}: emitted_at must list the source path(s) that emit it")
        finding = self.text(raw.get("finding"), (*loc, "finding"), required=False)
        informational = self.text(raw.get("informational"), (*loc, "informational"), required=False)
        if bool(finding) == bool(informational):
            raise self.fail(loc, f"entry {eid}: give exactly one of finding and informational")
        variants = raw.get("variants") or []
        if not isinstance(variants, list) or not all(
            isinstance(v, dict) and isinstance(v.get("text"), str) and isinstance(v.get("tag"), str) for v in variants
        ):
            raise self.fail((*loc, "variants"), f"entry {eid}: variants must be a list of {{text, tag}}")
        unverified = self.text(raw.get("unverified"), (*loc, "unverified"), required=False)
        example = raw.get("example")
        if not isinstance(example, dict) or not example:
            raise self.fail((*loc, "example"), f"entry {eid}: example must be a mapping (a real instance)")
        return Entry(
            id=eid,
            where=where,
            match=dict(match),
            kinds=tuple(kinds),
            emitted_at=tuple(emitted),
            why=self.text(raw.get("why"), (*loc, "why")),
            example=dict(example),
            line=self.doc.line_of(loc),
            finding=finding,
            informational=informational,
            variants=tuple(dict(v) for v in variants),
            unverified=unverified,
        )


def problems(vocabulary: Vocabulary, playbook_ids: set[str]) -> list[str]:
    """What the loader cannot see alone: a finding id that no bundled playbook provides needs its own title,
    severity and stage; "informational" may not hide a Warning event or a container's waiting or terminated reason
    (docs/reasons.md's rule: those always name a cause)."""
    out = []
    for fid, info in vocabulary.findings.items():
        if fid not in playbook_ids and not (info.title and info.severity and info.stage):
            out.append(
                f"{vocabulary.source}: finding {fid!r} is no bundled playbook's id: give it title, severity and stage"
            )
    for e in vocabulary.entries:
        if not e.informational:
            continue
        hides = e.where in ("container.waiting", "container.terminated") or (
            e.where == "event" and e.example.get("type", "Warning") == "Warning"
        )
        if hides:
            out.append(
                f"{vocabulary.source}:{e.line}: entry {e.id} is informational, but a {e.where}"
                f"{' Warning' if e.where == 'event' else ''} reason must name a finding"
            )
    return out
