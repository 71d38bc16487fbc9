"""Running playbooks against one subject: checks concurrently, each under its own deadline.

A check that fails, times out, is skipped, gets ill-typed parameters or raises anything at all ends as a
:class:`CheckResult` (with a typed ``reason``) and its fact is ``null``; the rest of the diagnosis always comes
back. Facts are shared through the per-diagnosis cache in the context.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..checks.registry import CheckContext
from ..errors import AdapterError, CheckSkipped
from ..expressions import Bindings, Contexts, ExpressionError, Template, format_value, to_py, truthy
from ..models.findings import (
    CHECK_REASONS,
    CheckReason,
    CheckResult,
    CheckStatus,
    Finding,
    Fix,
    Patch,
)
from ..models.playbook import CheckSpec, EachEvidence, Playbook


@dataclass
class Subject:
    """The object a set of playbooks runs against: the target itself, or a related object (its node ...)."""

    ref: str  # "pod/q1/app-x"
    obj: dict[str, Any]
    relation: str = "target"  # target | node | owner | pod


@dataclass
class PlaybookOutcome:
    """One playbook run on one subject: its finding, if any, and its checks."""

    playbook: Playbook
    subject: Subject
    finding: Finding | None
    checks: list[CheckResult] = field(default_factory=list)


_BARE_NAME = re.compile(r"^\s*([a-z][a-zA-Z0-9_]*)\s*$")


def render_params(value: Any, activation: dict[str, Any]) -> Any:
    """Check parameters: literals stay, templates are evaluated. ``{{ name }}`` hands over the fact itself
    (an object is passed as is, not copied through CEL)."""
    if isinstance(value, Template):
        if value.is_single:
            m = _BARE_NAME.match(value.parts[0].source)  # type: ignore[union-attr]
            if m and m.group(1) in activation:
                return activation[m.group(1)]
        return to_py(value.render(activation))
    if isinstance(value, dict):
        return {k: render_params(v, activation) for k, v in value.items()}
    if isinstance(value, list):
        return [render_params(v, activation) for v in value]
    return value


def _identity(value: Any) -> Any:
    """A hashable key for check parameters; an object is identified by kind, place, name and version."""
    if isinstance(value, dict):
        meta = value.get("metadata")
        if isinstance(meta, dict) and "name" in meta:
            return (
                "obj",
                value.get("kind"),
                meta.get("namespace"),
                meta.get("name"),
                meta.get("uid"),
                meta.get("resourceVersion"),
            )
        return tuple(sorted((k, _identity(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_identity(v) for v in value)
    return value


async def _shared(ctx: CheckContext, use: str, params: dict[str, Any], call: Any) -> Any:
    """Run a check once per diagnosis for the same parameters; every playbook asking gets the same fact."""
    memo = ctx.extra.setdefault("checks", {})
    key = (use, _identity(params))
    fut = memo.get(key)
    if fut is None:
        fut = asyncio.ensure_future(call())
        memo[key] = fut
    return await asyncio.shield(fut)


# The maps every object has in expressions, even a partial one (a pasted status-only pod, a spec-only manifest,
# an object from `kubectl describe`): `target.spec.x` on such an object is then absent, never an error.
_ALWAYS_MAPS = ("metadata", "spec", "status")
_ALWAYS_LISTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Pod": (("spec", "containers"), ("status", "containerStatuses")),
}


def tolerant(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as expressions see it: ``metadata``, ``spec`` and ``status`` always maps, ``status.conditions``
    always a list, and a pod's containers and container statuses always lists. The stored object is not
    changed; nothing else is filled in."""
    view = dict(obj)
    for key in _ALWAYS_MAPS:
        if not isinstance(view.get(key), dict):
            view[key] = {}
    for section, key in (*_ALWAYS_LISTS.get(str(obj.get("kind", "")), ()), ("status", "conditions")):
        if not isinstance(view[section].get(key), list):
            view[section] = {**view[section], key: []}
    return view


def symptom_matches(pb: Playbook, target: dict[str, Any], base: dict[str, Any]) -> bool:
    """The cheap gate: evaluated on the subject alone, no API call."""
    return _symptom(pb, {**base, "target": tolerant(target)})


def matching_playbooks(
    playbooks: Iterable[Playbook], target: dict[str, Any], base: dict[str, Any], ctx: CheckContext
) -> list[Playbook]:
    """The playbooks whose symptom the subject shows (:func:`symptom_matches` for each), with the diagnosis's
    CEL contexts: the subject is converted to CEL once for all of them, not once per playbook."""
    activation = Bindings({**base, "target": _view(ctx, target)}, _contexts(ctx))
    return [pb for pb in playbooks if _symptom(pb, activation)]


def _contexts(ctx: CheckContext) -> Contexts:
    """The CEL contexts of this diagnosis (see :class:`kubewhy.expressions.Contexts`)."""
    found = ctx.extra.get("cel")
    if not isinstance(found, Contexts):
        found = ctx.extra["cel"] = Contexts()
    return found


def _view(ctx: CheckContext, obj: dict[str, Any]) -> dict[str, Any]:
    """``tolerant(obj)``, the same dict for every playbook run on the object in this diagnosis."""
    views: dict[int, tuple[dict[str, Any], dict[str, Any]]] = ctx.extra.setdefault("views", {})
    hit = views.get(id(obj))
    if hit is None or hit[0] is not obj:
        hit = views[id(obj)] = (obj, tolerant(obj))
    return hit[1]


def _symptom(pb: Playbook, activation: dict[str, Any]) -> bool:
    try:
        return truthy(pb.symptom.evaluate(activation))
    except ExpressionError:
        return False  # a symptom over fields the object lacks simply does not match


# Who wants each check's result as it ends (the TUI's live progress); set by ``service.diagnose(on_check=)``.
ON_CHECK: contextvars.ContextVar[Callable[[CheckResult], None] | None] = contextvars.ContextVar(
    "on_check", default=None
)


class _Reported(list[CheckResult]):
    """A playbook's check results, each also handed to :data:`ON_CHECK` when it is added."""

    def append(self, result: CheckResult) -> None:
        super().append(result)
        hook = ON_CHECK.get()
        if hook is not None:
            try:
                hook(result)
            except Exception:  # noqa: BLE001 - a front-end's display must not change the diagnosis
                pass


async def run_playbook(
    pb: Playbook, subject: Subject, ctx: CheckContext, base: dict[str, Any], default_timeout: float
) -> PlaybookOutcome:
    activation = Bindings({**base, "target": _view(ctx, subject.obj)}, _contexts(ctx))
    results: list[CheckResult] = _Reported()
    done: dict[str, asyncio.Future[None]] = {c.id: asyncio.get_running_loop().create_future() for c in pb.checks}
    failed: set[str] = set()

    async def run_check(spec: CheckSpec) -> None:
        cid = f"{pb.id}.{spec.id}"

        def end(status: CheckStatus, start: float, detail: str, reason: CheckReason) -> None:
            failed.add(spec.id)
            activation[spec.id] = None
            results.append(CheckResult(cid, status, (time.perf_counter() - start) * 1000, detail, reason))

        try:
            for need in spec.needs:
                await done[need]
            if any(n in failed for n in spec.needs):
                end("skipped", time.perf_counter(), f"needs {', '.join(spec.needs)}, which did not run", "needs-failed")
                return
            definition = spec.definition
            timeout = spec.timeout or definition.timeout or default_timeout
            start = time.perf_counter()
            try:
                params = render_params(spec.params, activation)
                problem = definition.check_params(params)
                if problem:
                    end("error", start, f"{problem} (check {spec.id!r}, use: {spec.use})", "bad-parameter")
                    return
                async with asyncio.timeout(timeout):
                    activation[spec.id] = await _shared(ctx, spec.use, params, lambda: definition.fn(ctx, **params))
                results.append(CheckResult(cid, "ok", (time.perf_counter() - start) * 1000))
            except TimeoutError:
                end("timeout", start, f"no answer within {timeout:g}s", "timeout")
            except CheckSkipped as exc:
                reason = exc.reason if exc.reason in CHECK_REASONS else "skipped"
                end("skipped", start, f"skipped: {exc}", reason)  # type: ignore[arg-type]
            except ExpressionError as exc:
                end("error", start, str(exc), "expression-error")
            except AdapterError as exc:  # the cluster or Prometheus failed (even unreachable): this check only
                end("error", start, str(exc), "backend-error")
            except Exception as exc:  # noqa: BLE001  (a check's own bug must never sink the report)
                end("error", start, f"check {spec.use!r} failed: {type(exc).__name__}: {exc}", "check-error")
        finally:
            if not done[spec.id].done():
                done[spec.id].set_result(None)

    await asyncio.gather(*(run_check(c) for c in pb.checks))
    order = {c.id: i for i, c in enumerate(pb.checks)}
    results.sort(key=lambda r: order.get(r.id.split(".", 1)[1], 0))
    start = time.perf_counter()
    try:
        for name, expr in pb.variables:
            activation[name] = expr.evaluate(activation)
        fired = truthy(pb.when.evaluate(activation))
    except ExpressionError as exc:
        # Missing facts (a check failed) make a cause unprovable, which is reported, not raised.
        status: CheckStatus = "failed" if failed else "error"
        results.append(
            CheckResult(
                f"{pb.id}.when",
                status,
                (time.perf_counter() - start) * 1000,
                f"could not evaluate: {exc}",
                "expression-error",
            )
        )
        return PlaybookOutcome(pb, subject, None, results)
    results.append(
        CheckResult(
            f"{pb.id}.when",
            "failed" if fired else "ok",
            (time.perf_counter() - start) * 1000,
            "cause found" if fired else "cause not present",
            "cause-found" if fired else "cause-absent",
        )
    )
    if not fired:
        return PlaybookOutcome(pb, subject, None, results)
    problems: list[str] = []
    finding = _finding(pb, subject, activation, problems)
    if problems and failed:  # lines about facts a failed check would have given: that check is the error
        results.append(
            CheckResult(
                f"{pb.id}.render",
                "skipped",
                0.0,
                f"{len(problems)} line(s) left out: {', '.join(sorted(failed))} did not run",
                "needs-failed",
            )
        )
    elif problems:
        results.append(CheckResult(f"{pb.id}.render", "error", 0.0, "; ".join(problems)[:500], "expression-error"))
    return PlaybookOutcome(pb, subject, finding, results)


def _finding(pb: Playbook, subject: Subject, activation: dict[str, Any], problems: list[str]) -> Finding:
    """Render a proven cause. A line that cannot be rendered is dropped (and reported), never the finding."""

    def attempt(what: str, fn: Any, default: Any = None) -> Any:
        try:
            return fn()
        except ExpressionError as exc:
            problems.append(f"{what}: {exc}")
            return default

    evidence: list[str] = []
    for i, item in enumerate(pb.evidence):
        if isinstance(item, EachEvidence):
            elements = attempt(f"evidence[{i}]", lambda item=item: list(item.each.evaluate(activation) or []), [])
            for element in elements:
                text = attempt(
                    f"evidence[{i}]",
                    lambda item=item, element=element: item.text.render_text(_with(activation, item.as_, element)),
                    "",
                )
                if text.strip():
                    evidence.append(text.strip())
        else:
            text = attempt(f"evidence[{i}]", lambda item=item: item.render_text(activation), "")
            if text.strip():
                evidence.append(text.strip())
    fixes = []
    for i, f in enumerate(pb.fixes):
        if f.when is not None and not attempt(
            f"fixes[{i}].when", lambda f=f: truthy(f.when.evaluate(activation)), False
        ):
            continue
        fix = attempt(f"fixes[{i}]", lambda f=f: _fix(f, activation))
        if fix is not None:
            fixes.append(fix)
    summary = attempt("summary", lambda: " ".join(pb.summary.render_text(activation).split()), pb.title)
    severity = pb.severity
    for i, (rule, rule_severity) in enumerate(pb.severity_if):
        if attempt(f"severity_if[{i}]", lambda rule=rule: truthy(rule.evaluate(activation)), False):
            severity = rule_severity
            break
    return Finding(
        id=pb.id,
        title=pb.title,
        severity=severity,  # type: ignore[arg-type]
        summary=summary,
        subject=subject.ref,
        stage=pb.stage,
        evidence=tuple(evidence),
        fixes=tuple(fixes),
        source=pb.source,
        chart=pb.chart,
    )


def _with(activation: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    return activation.with_(name, value) if isinstance(activation, Bindings) else {**activation, name: value}


def _fix(f: Any, activation: dict[str, Any]) -> Fix:
    patch = None
    if f.patch is not None:
        target = format_value(f.patch.target.render(activation))
        kind_alias, *rest = target.split("/")
        ns, name = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0] if rest else "")
        patch = Patch(
            kind=_kind(kind_alias),
            name=name,
            namespace=ns,
            type=f.patch.type,
            body=render_params(f.patch.body, activation),
        )
    return Fix(
        title=f.title.render_text(activation).strip(),
        command=f.command.render_text(activation).strip(),
        risk=f.risk,
        why=f.why.render_text(activation).strip(),
        does_not_fix=f.does_not_fix.strip(),
        patch=patch,
    )


def _kind(alias: str) -> str:
    from .. import kinds

    return kinds.kind_named(alias) or alias
