"""Playbook files → validated, compiled :class:`Playbook` objects; every error names the file and line.

A broken playbook never stops the others from loading: :func:`load_dirs` returns the good ones and the
errors side by side.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks import default_registry
from ..checks.registry import (
    CheckDef,
    CheckRegistry,
    describe,
    shape_fits,
    type_name,
    value_problem,
)
from ..checks.samples import sample, skeleton
from ..errors import PlaybookError
from ..expressions import (
    Compiler,
    ExpressionError,
    Template,
    compile_template,
    has_holes,
    to_py,
)
from ..models.playbook import (
    API_VERSIONS,
    RESERVED,
    CheckSpec,
    EachEvidence,
    FixSpec,
    PatchSpec,
    Playbook,
)
from .cache import PlaybookCache

if TYPE_CHECKING:
    from ..models.playbook_format import PlaybookModel
    from ..yamlsrc import Doc


def bundled_dir() -> Path:
    """The bundled playbooks: ``playbooks/`` in the repository, the package ``kubewhy.playbooks.bundled`` once
    installed (editable or from a wheel; see pyproject.toml)."""
    spec = importlib.util.find_spec("kubewhy.playbooks.bundled")
    origin = Path(spec.origin) if spec is not None and spec.has_location and spec.origin else None
    if origin is not None and origin.name == "__init__.py" and origin.is_file():
        return origin.parent  # what importlib.resources answers for a package on disk, without importing it
    from importlib import resources

    root = resources.files("kubewhy.playbooks.bundled")
    if not isinstance(root, Path):  # a zipped install: errors need real files to name file and line
        raise PlaybookError(str(root), "the bundled playbooks are not on the file system; install kubewhy unzipped")
    return root


@dataclass
class Catalog:
    """The playbooks loaded, and the errors of those that could not be."""

    playbooks: list[Playbook] = field(default_factory=list)
    errors: list[PlaybookError] = field(default_factory=list)

    def for_kind(self, kind: str) -> list[Playbook]:
        return [p for p in self.playbooks if kind in p.applies_to]

    def by_id(self, pid: str) -> Playbook | None:
        return next((p for p in self.playbooks if p.id == pid), None)


def _loc(path: Path, doc: Doc, loc: tuple[Any, ...]) -> str:
    return f"{path}:{doc.line_of(loc)}"


def _has_template(value: Any) -> bool:
    if isinstance(value, Template):
        return True
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def _param_problem(
    definition: CheckDef, key: str, raw: Any, value: Any, kinds: tuple[str, ...], facts: dict[str, Any]
) -> str | None:
    """Why a parameter's value cannot suit the type the check declares, decided before any cluster exists.

    A literal is checked as it is. A template is evaluated on a skeleton of each kind the playbook applies to and
    on samples of the earlier checks' facts; only a value it certainly gives is judged (a field the skeleton
    lacks proves nothing, and the value is checked again when the check runs).
    """
    param = definition.params[key]
    wanted = type_name(param.type)
    if not _has_template(value):
        if value is None and param.required:
            return f"needs {wanted}, but got null"
        problem = value_problem(param.type, value)
        return problem
    if not isinstance(value, Template):  # a map or list with templates inside: judge the container
        return (
            None
            if shape_fits(param.type, {} if isinstance(value, dict) else [])
            else f"needs {wanted}, but got {describe(raw)}"
        )
    if not value.is_single:
        return None if shape_fits(param.type, "") else f"needs {wanted}, but {raw!r} gives text (a string)"
    for kind in kinds:
        try:
            result = to_py(value.render({"now": "2000-01-01T00:00:00Z", **facts, "target": skeleton(kind)}))
        except ExpressionError:
            continue
        if not shape_fits(param.type, result):
            on = f" on a {kind}" if len(kinds) > 1 else ""
            return f'needs {wanted}, but "{raw}" gives {describe(result)}{on}'
    return None


def _compile(compiler: Compiler, registry: CheckRegistry, path: Path, doc: Doc, model: PlaybookModel) -> Playbook:
    def expr(source: str, loc: tuple[Any, ...]):  # type: ignore[no-untyped-def]
        try:
            return compiler.compile(source)
        except ExpressionError as exc:
            raise PlaybookError(_loc(path, doc, loc), str(exc)) from None

    def tmpl(source: str, loc: tuple[Any, ...]):  # type: ignore[no-untyped-def]
        try:
            return compile_template(compiler, source)
        except ExpressionError as exc:
            raise PlaybookError(_loc(path, doc, loc), str(exc)) from None

    def deep(value: Any, loc: tuple[Any, ...]) -> Any:
        if isinstance(value, dict):
            return {k: deep(v, loc + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [deep(v, loc + (i,)) for i, v in enumerate(value)]
        if has_holes(value):
            return tmpl(value, loc)
        return value

    names: set[str] = set()
    facts: dict[str, Any] = {}  # samples of the earlier checks' facts, for typing templates
    checks = []
    for i, c in enumerate(model.checks):
        loc = ("checks", i)
        spec = registry.get(c.use)
        if spec is None:
            raise PlaybookError(
                _loc(path, doc, loc + ("use",)), f"unknown check {c.use!r}; known checks: {', '.join(registry.names())}"
            )
        unknown = set(c.with_) - set(spec.params)
        if unknown:
            raise PlaybookError(
                _loc(path, doc, loc + ("with",)),
                f"check {c.use!r} has no parameter {min(unknown)!r}; it takes "
                f"{', '.join(sorted(spec.params)) or 'no parameters'}",
            )
        missing = [p for p, param in spec.params.items() if param.required and p not in c.with_]
        if missing:
            raise PlaybookError(_loc(path, doc, loc), f"check {c.use!r} needs parameter {missing[0]!r}")
        if c.id in names or c.id in RESERVED:
            raise PlaybookError(_loc(path, doc, loc + ("id",)), f"check id {c.id!r} is reserved or used twice")
        for need in c.needs:
            if need not in names:
                raise PlaybookError(
                    _loc(path, doc, loc + ("needs",)),
                    f"check {c.id!r} needs {need!r}, which is not an earlier check of this playbook",
                )
        params = deep(c.with_, loc + ("with",))
        for key in c.with_:
            problem = _param_problem(spec, key, c.with_[key], params[key], tuple(model.applies_to), facts)
            if problem:
                raise PlaybookError(_loc(path, doc, loc + ("with", key)), f"check {c.id!r} parameter {key!r} {problem}")
        names.add(c.id)
        facts[c.id] = sample(spec.result)
        checks.append(CheckSpec(c.id, c.use, params, tuple(c.needs), c.timeout, spec))
    variables = []
    for i, v in enumerate(model.variables):
        if v.name in names or v.name in RESERVED:
            raise PlaybookError(
                _loc(path, doc, ("variables", i, "name")),
                f"variable {v.name!r} clashes with a check id or a reserved word",
            )
        names.add(v.name)
        variables.append((v.name, expr(v.expression, ("variables", i, "expression"))))
    evidence: list[Any] = []
    for i, e in enumerate(model.evidence):
        if not isinstance(e, str):  # EachEvidenceModel
            evidence.append(
                EachEvidence(expr(e.each, ("evidence", i, "each")), e.as_, tmpl(e.text, ("evidence", i, "text")))
            )
        else:
            evidence.append(tmpl(e, ("evidence", i)))
    fixes = []
    for i, f in enumerate(model.fixes):
        loc = ("fixes", i)
        patch = None
        if f.patch:
            patch = PatchSpec(
                tmpl(f.patch.target, loc + ("patch", "target")),
                f.patch.type,
                deep(f.patch.body, loc + ("patch", "body")),
            )
        fixes.append(
            FixSpec(
                tmpl(f.title, loc + ("title",)),
                tmpl(f.command, loc + ("command",)),
                f.risk,
                tmpl(f.why, loc + ("why",)),
                f.does_not_fix,
                expr(f.when, loc + ("when",)) if f.when else None,
                patch,
            )
        )
    return Playbook(
        id=model.id,
        title=model.title,
        description=model.description,
        applies_to=tuple(model.applies_to),
        stage=model.stage,
        severity=model.severity,
        symptom=expr(model.symptom, ("symptom",)),
        checks=tuple(checks),
        variables=tuple(variables),
        when=expr(model.when, ("when",)),
        summary=tmpl(model.summary, ("summary",)),
        evidence=tuple(evidence),
        fixes=tuple(fixes),
        caused_by=tuple(model.caused_by),
        chart=model.chart,
        source=str(path),
        settle=model.settle,
        severity_if=tuple(
            (expr(r.when, ("severity_if", i, "when")), r.severity) for i, r in enumerate(model.severity_if)
        ),
    )


def _version_problem(path: Path, doc: Doc) -> PlaybookError | None:
    """The format version comes first: a playbook without one, or for a version we do not know, is refused."""
    assert isinstance(doc.data, dict)
    version = doc.data.get("apiVersion")
    known = ", ".join(API_VERSIONS)
    if version is None:
        return PlaybookError(
            f"{path}:{doc.line_of(())}",
            f"missing apiVersion; add 'apiVersion: {API_VERSIONS[-1]}' (known versions: {known})",
        )
    if version not in API_VERSIONS:
        return PlaybookError(
            f"{path}:{doc.line_of(('apiVersion',))}", f"unknown apiVersion {version!r}; known versions: {known}"
        )
    return None


def load_file(
    path: Path, compiler: Compiler, registry: CheckRegistry | None = None
) -> tuple[list[Playbook], list[PlaybookError]]:
    """Every playbook in one file, and every error (a file may hold several documents).

    Each playbook's checks are resolved against ``registry`` (default: a fresh :func:`default_registry`).
    """
    registry = registry if registry is not None else default_registry()
    try:
        content = path.read_bytes()
    except OSError as exc:
        return [], [PlaybookError(f"{path}:1", f"cannot read: {exc.strerror}")]
    return _parse(path, content, compiler, registry)


def _parse(
    path: Path, content: bytes, compiler: Compiler, registry: CheckRegistry
) -> tuple[list[Playbook], list[PlaybookError]]:
    from pydantic import ValidationError

    from ..models.playbook_format import PlaybookModel
    from ..yamlsrc import YamlSourceError, documents

    good: list[Playbook] = []
    errors: list[PlaybookError] = []
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [PlaybookError(f"{path}:1", f"cannot read: not UTF-8 ({exc.reason})")]
    try:
        docs = list(documents(text))
    except YamlSourceError as exc:
        return [], [PlaybookError(f"{path}:{exc.line or 1}", str(exc))]
    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            errors.append(PlaybookError(f"{path}:{doc.line_of(())}", "a playbook must be a mapping"))
            continue
        version_error = _version_problem(path, doc)
        if version_error is not None:
            errors.append(version_error)
            continue
        try:
            model = PlaybookModel.model_validate(doc.data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(p for p in err["loc"] if p not in ("str", "EachEvidenceModel"))
                field = ".".join(str(p) for p in err["loc"])
                msg = err["msg"]
                if err["type"] == "extra_forbidden":
                    msg = f"unknown field {field!r}"
                elif err["type"] == "missing":
                    msg = f"missing required field {field!r}"
                else:
                    msg = f"{field}: {msg}"
                errors.append(PlaybookError(f"{path}:{doc.line_of(loc)}", msg))
            continue
        try:
            good.append(_compile(compiler, registry, path, doc, model))
        except PlaybookError as exc:
            errors.append(exc)
    return good, errors


def _load_cached(
    path: Path, compiler: Compiler, registry: CheckRegistry, cache: PlaybookCache | None
) -> tuple[list[Playbook], list[PlaybookError]]:
    if cache is None:
        return load_file(path, compiler, registry)
    try:
        content = path.read_bytes()
    except OSError as exc:
        return [], [PlaybookError(f"{path}:1", f"cannot read: {exc.strerror}")]
    cached = cache.get(path, content)
    if cached is not None:
        return cached, []
    good, errors = _parse(path, content, compiler, registry)
    if not errors:  # a broken file is parsed every time, so its errors always name the file as it is
        cache.put(content, good)
    return good, errors


def playbook_files(directory: Path) -> list[Path]:
    """The YAML files under ``directory``, hidden ones left out: a ConfigMap mounted as a directory (the Helm
    chart's ``playbooks``) holds each file twice, once in its hidden ``..2024_…`` data directory."""
    if directory.is_file():
        return [directory]
    return sorted(
        p
        for p in directory.rglob("*")
        if p.suffix in (".yaml", ".yml")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def load_dirs(
    dirs: Iterable[Path],
    compiler: Compiler | None = None,
    *,
    include_bundled: bool = True,
    registry: CheckRegistry | None = None,
    cache_dir: Path | None = None,
) -> Catalog:
    """Load the bundled playbooks plus users' directories; later directories override ids of earlier ones.

    Checks are looked up in ``registry`` (default: a fresh registry of the built-in checks); each compiled
    check carries its definition, so running a playbook needs no registry at all. With ``cache_dir``, files
    are compiled once and read back from the compile cache while their bytes stay the same
    (:mod:`kubewhy.playbooks.cache`).
    """
    compiler = compiler or Compiler()
    registry = registry if registry is not None else default_registry()
    cache = PlaybookCache(cache_dir, registry) if cache_dir is not None else None
    catalog = Catalog()
    by_id: dict[str, Playbook] = {}
    sources = ([bundled_dir()] if include_bundled else []) + [Path(d) for d in dirs]
    for directory in sources:
        if not directory.exists():
            catalog.errors.append(PlaybookError(f"{directory}:1", "no such playbook directory"))
            continue
        for path in playbook_files(directory):
            good, errors = _load_cached(path, compiler, registry, cache)
            catalog.errors.extend(errors)
            for pb in good:
                by_id[pb.id] = pb
    catalog.playbooks = list(by_id.values())
    known = set(by_id)
    for pb in catalog.playbooks:
        for cause in pb.caused_by:
            if cause not in known:
                catalog.errors.append(PlaybookError(f"{pb.source}:1", f"caused_by names unknown playbook {cause!r}"))
    return catalog
