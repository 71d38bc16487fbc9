"""``kubewhy eval``: run every scenario's expectations and score the playbooks (precision and recall).

Each scenario is diagnosed through the real HTTP path (a simulator on a free port, the live adapter) or
offline (the snapshot adapter); both must agree, and the tests check that they do. A ``kubectl describe`` paste
(a ``.txt`` file) is diagnosed as ``kubewhy why --describe`` reads it, against the finding its directory's
``SOURCES.md`` names for it (:func:`paste_expectations`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from kubesim.prometheus import PrometheusUnavailable
from kubesim.scenario import (
    Expectation,
    Scenario,
    ScenarioError,
    bundled_names,
    load,
    load_paths,
)
from kubewhy.adapters.kube_live import LiveKube, build_api_client
from kubewhy.adapters.kube_snapshot import SnapshotKube
from kubewhy.adapters.ports import KubeReader, MetricsReader
from kubewhy.catalogue import catalogue_file
from kubewhy.errors import KubewhyError
from kubewhy.models.findings import Finding
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import Catalog
from kubewhy.service import Deps, diagnose

from .prometheus import prometheus_for

UNEXPLAINED = "unexplained"  # the report's net for an unhealthy object no playbook explains


@dataclass
class CaseResult:
    scenario: str
    target: str
    expected: list[str]
    absent: list[str]
    found: list[str]
    error: str = ""
    ranked: list[str] = field(default_factory=list)  # finding ids in the report's order (root cause first)
    severities: dict[str, str] = field(default_factory=dict)  # finding id -> its most severe severity

    @property
    def healthy_case(self) -> bool:
        return not self.expected and not self.absent

    @property
    def unexplained(self) -> bool:
        """An unhealthy case whose report leads with ``unexplained`` (or holds nothing else): kubewhy saw trouble
        and named no cause."""
        return bool(self.expected) and self.expected[0] != UNEXPLAINED and self.ranked[:1] == [UNEXPLAINED]

    @property
    def paste(self) -> bool:
        """A ``kubectl describe`` paste rather than a scenario of objects."""
        return self.scenario.endswith(".txt")

    @property
    def alarms(self) -> list[str]:
        """Findings above ``info``: on a healthy case each is a false alarm (an ``info`` note is not)."""
        return [i for i in self.found if self.severities.get(i, "critical") != "info"]

    def top(self, n: int) -> bool:
        """Whether the first expected finding (the primary cause) is among the report's first ``n``."""
        return bool(self.expected) and self.expected[0] in self.ranked[:n]

    @property
    def missing(self) -> list[str]:
        return [i for i in self.expected if i not in self.found]

    @property
    def unwanted(self) -> list[str]:
        """False positives: ids that must not appear, and anything on a target expected to be healthy."""
        if self.healthy_case:
            return self.alarms
        return [i for i in self.found if i in self.absent]

    @property
    def passed(self) -> bool:
        return not self.error and not self.missing and not self.unwanted


@dataclass
class EvalResult:
    cases: list[CaseResult] = field(default_factory=list)

    def per_playbook(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {}
        for c in self.cases:
            for pid in c.expected:
                table.setdefault(pid, Counter())["tp" if pid in c.found else "fn"] += 1
            for pid in c.unwanted:
                table.setdefault(pid, Counter())["fp"] += 1
        return table

    @property
    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.per_playbook().values():
            total.update(counts)
        return total

    @property
    def precision(self) -> float:
        t = self.totals
        return t["tp"] / (t["tp"] + t["fp"]) if t["tp"] + t["fp"] else 1.0

    @property
    def recall(self) -> float:
        t = self.totals
        return t["tp"] / (t["tp"] + t["fn"]) if t["tp"] + t["fn"] else 1.0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    def ranking(self) -> dict[str, float | int]:
        """Top-1 and top-2 accuracy over the cases with an expected cause, the share of those whose report leads
        with ``unexplained`` (the unexplained rate), and false alarms on healthy cases."""
        diagnosed = [c for c in self.cases if c.expected]
        healthy = [c for c in self.cases if c.healthy_case]
        n = len(diagnosed)
        unexplained = sum(c.unexplained for c in diagnosed)
        return {
            "cases": len(self.cases),
            "unhealthy_cases": n,
            "healthy_cases": len(healthy),
            "pastes": sum(c.paste for c in self.cases),
            "top1": sum(c.top(1) for c in diagnosed) / n if n else 1.0,
            "top2": sum(c.top(2) for c in diagnosed) / n if n else 1.0,
            "unexplained_cases": unexplained,
            "unexplained": unexplained / n if n else 0.0,
            "false_alarms": sum(len(c.alarms) for c in healthy),
            "modes": len({c.expected[0] for c in diagnosed}),
        }


def scenario_sources(paths: list[Path]) -> list[str]:
    """Scenario names to evaluate: bundled ones by default; files or directories (each member, and each
    ``kubectl describe`` paste, ``*.txt``) otherwise."""
    if not paths:
        # Whole clusters that are also split into members (workshop) are evaluated member by member.
        names = bundled_names()
        return [n for n in names if not any(m.startswith(n + "/") for m in names)]
    out: list[str] = []
    for p in paths:
        if p.is_file():
            out.append(str(p))
        elif p.is_dir():
            members = sorted(f for f in p.glob("*.yaml") if not f.name.startswith("_"))
            has_base = any(f.name.startswith("_") for f in p.glob("*.yaml"))
            if has_base:
                out += [f"{p}/{f.stem}" for f in members]
            else:
                out += [str(f) for f in members]
                out += [str(f) for f in sorted(p.glob("*.txt"))]
                out += [str(d) for d in sorted(p.iterdir()) if d.is_dir()]
        else:
            out.append(str(p))
    return out


async def _run_case(  # type: ignore[no-untyped-def]
    kube: KubeReader,
    catalog: Catalog,
    clock,
    scenario: str,
    exp: Expectation,
    prom: MetricsReader | None = None,
) -> CaseResult:
    try:
        target = parse_target(exp.target)
        deps = (
            Deps(kube=kube, catalog=catalog, clock=clock, prom=prom)
            if clock
            else Deps(kube=kube, catalog=catalog, prom=prom)
        )
        report = await diagnose(target, deps)
    except KubewhyError as exc:
        return CaseResult(scenario, exp.target, exp.findings, exp.absent, [], error=str(exc))
    return _case_result(scenario, exp.target, exp.findings, exp.absent, report.findings)


def _case_result(
    scenario: str, target: str, expected: list[str], absent: list[str], findings: list[Finding]
) -> CaseResult:
    """A report's findings against an expectation: the ids in the report's order and each id's worst severity."""
    ranked: list[str] = []
    severities: dict[str, str] = {}
    order = {"critical": 0, "warning": 1, "info": 2}
    for f in findings:
        if f.id not in ranked:
            ranked.append(f.id)
        if f.id not in severities or order[f.severity] < order.get(severities[f.id], 2):
            severities[f.id] = f.severity
    found = sorted(ranked)
    return CaseResult(scenario, target, expected, absent, found, ranked=ranked, severities=severities)


async def evaluate_scenario(
    name: str, catalog: Catalog, mode: Literal["live", "snapshot"], prometheus: str = "off"
) -> list[CaseResult]:
    if name.endswith(".txt"):
        return [await evaluate_paste(Path(name), catalog)]
    scenario: Scenario = load_paths([Path(name)]) if Path(name).is_file() else load(name)
    if not scenario.expect:
        return []
    # Metric playbooks need history: a real Prometheus over the scenario's back-filled last hour (``auto``).
    with prometheus_for(scenario, prometheus) as prom:
        return await _evaluate_loaded(name, scenario, catalog, mode, prom)


async def _evaluate_loaded(
    name: str, scenario: Scenario, catalog: Catalog, mode: Literal["live", "snapshot"], prom: MetricsReader | None
) -> list[CaseResult]:
    if mode == "snapshot":
        snapshot = SnapshotKube([Path(s) for s in scenario.sources])
        return [await _run_case(snapshot, catalog, snapshot.clock, name, e, prom) for e in scenario.expect]
    import tempfile

    from kubesim.runner import run_in_thread
    from kubesim.server import SimOptions

    with tempfile.TemporaryDirectory() as tmp:
        sim = run_in_thread(scenario, SimOptions(timeline_mode="manual"), kubeconfig_out=Path(tmp) / "kubeconfig")
        try:
            kube = LiveKube(build_api_client(str(sim.kubeconfig)))
            return [await _run_case(kube, catalog, None, name, e, prom) for e in scenario.expect]
        finally:
            sim.stop()


# ---- kubectl describe pastes: scored as ``kubewhy why --describe`` reads them -----------------------------------

PASTE_LIST = "SOURCES.md"


def paste_expectations(listing: Path) -> dict[str, list[str]]:
    """The finding expected of each paste, from the Markdown table of ``SOURCES.md`` beside the pastes: its
    ``file`` column names the paste (in backquotes), its ``finding`` column the primary cause (``—`` or ``healthy``:
    a healthy object). A malformed table is a :class:`ScenarioError` with the file and line."""
    import re

    expected: dict[str, list[str]] = {}
    columns: list[str] = []
    for no, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), 1):
        if not line.startswith("|"):
            columns = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not columns:
            columns = [c.lower() for c in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        if "file" not in columns or "finding" not in columns:
            continue
        if len(cells) != len(columns):
            raise ScenarioError(listing, f"{len(cells)} cells in a table of {len(columns)} columns", line=no)
        name = cells[columns.index("file")].strip("`")
        finding = cells[columns.index("finding")].strip("`")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*|—|healthy", finding):
            raise ScenarioError(listing, f"finding {finding!r} is not a finding id, `—` or `healthy`", line=no)
        expected[name] = [] if finding in ("—", "healthy") else [finding]
    return expected


async def evaluate_paste(path: Path, catalog: Catalog) -> CaseResult:
    """Diagnose one ``kubectl describe`` paste offline, as the bot and ``kubewhy why --describe`` do (a paste has
    no cluster behind it, in either mode)."""
    from kubewhy.adapters import describe
    from kubewhy.service import diagnose_described

    listing = path.parent / PASTE_LIST
    expected = paste_expectations(listing).get(path.name) if listing.is_file() else None
    if expected is None:
        raise ScenarioError(path, f"no expected finding: list the paste in {listing} (columns file, finding)")
    text = path.read_text(encoding="utf-8")
    try:
        target = describe.target_of(describe.parse(text))
        report = await diagnose_described(text, Deps(kube=SnapshotKube([], objects=[]), catalog=catalog))
    except (describe.DescribeError, KubewhyError) as exc:
        return CaseResult(str(path), "-", expected, [], [], error=str(exc))
    return _case_result(str(path), target, expected, [], report.findings)


async def evaluate(
    sources: list[str], catalog: Catalog, mode: Literal["live", "snapshot"] = "live", prometheus: str = "off"
) -> EvalResult:
    result = EvalResult()
    for name in sources:
        try:
            result.cases += await evaluate_scenario(name, catalog, mode, prometheus)
        except ScenarioError as exc:
            result.cases.append(CaseResult(name, "-", [], [], [], error=f"scenario error: {exc}"))
        except PrometheusUnavailable as exc:
            result.cases.append(CaseResult(name, "-", [], [], [], error=f"prometheus: {exc}"))
    return result


def format_table(result: EvalResult) -> str:
    lines = ["playbook                        TP  FP  FN  precision  recall", "-" * 62]
    for pid, counts in sorted(result.per_playbook().items()):
        tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
        prec = f"{tp / (tp + fp):.0%}" if tp + fp else "-"
        rec = f"{tp / (tp + fn):.0%}" if tp + fn else "-"
        lines.append(f"{pid:30} {tp:3} {fp:3} {fn:3}  {prec:>9}  {rec:>6}")
    t = result.totals
    lines.append("-" * 62)
    lines.append(f"{'overall':30} {t['tp']:3} {t['fp']:3} {t['fn']:3}  {result.precision:>9.0%}  {result.recall:>6.0%}")
    failures = [c for c in result.cases if not c.passed]
    lines.append(f"\n{len(result.cases) - len(failures)}/{len(result.cases)} expectations met")
    r = result.ranking()
    lines.append(
        f"ranking: top-1 {r['top1']:.0%}, top-2 {r['top2']:.0%}, unexplained {r['unexplained']:.0%} "
        f"({r['unexplained_cases']}) over {r['unhealthy_cases']} unhealthy cases ({r['modes']} primary causes); "
        f"{r['false_alarms']} findings above info on {r['healthy_cases']} healthy cases"
    )
    for c in result.cases:
        if c.expected and not c.top(2):
            lines.append(
                f"  NOT TOP-2 {c.scenario} {c.target}: expected {c.expected[0]} "
                f"(ranked: {', '.join(c.ranked) or 'nothing'})"
            )
    for c in result.cases:
        if c.unexplained:
            lines.append(f"  UNEXPLAINED {c.scenario} {c.target}: expected {c.expected[0]}")
    for c in failures:
        why = c.error or "; ".join(
            filter(
                None,
                [
                    f"missing {', '.join(c.missing)}" if c.missing else "",
                    f"unexpected {', '.join(c.unwanted)}" if c.unwanted else "",
                ],
            )
        )
        lines.append(f"  FAIL {c.scenario} {c.target}: {why} (found: {', '.join(c.found) or 'nothing'})")
    return "\n".join(lines)


def run(paths: list[Path], catalog: Catalog, mode: Literal["live", "snapshot"], prometheus: str = "off") -> EvalResult:
    return asyncio.run(evaluate(scenario_sources(paths), catalog, mode, prometheus))


# ---- docs/coverage.md: the failure-mode catalogue against the playbooks and the evaluator's results -----------

# The packaged copy (kubewhy/catalogue/CATALOGUE.md), found with importlib.resources in a checkout or a wheel.
DEFAULT_CATALOGUE = catalogue_file()


@dataclass
class CatalogueEntry:
    section: str
    id: str
    signals: str


def parse_catalogue(path: Traversable) -> list[CatalogueEntry]:
    """The entries of the catalogue's Markdown tables: the id is the first column of each row."""
    import re

    entries: list[CatalogueEntry] = []
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", cells[0]) or cells[0] == "id":
            continue
        entries.append(CatalogueEntry(section, cells[0], cells[1]))
    return entries


def _short_scenario(name: str) -> str:
    p = Path(name)
    return p.stem if p.suffix == ".yaml" else name


def coverage_command(
    paths: list[Path], mode: str, prometheus: str, out: Path | str, corpus: Path | str | None = None
) -> str:
    """The command line that regenerates a coverage file (printed in its header)."""
    where = "".join(f" {p}" for p in paths)
    extra = f" --corpus {corpus}" if corpus else ""
    return f"kubewhy eval{where} --mode {mode} --prometheus {prometheus} --coverage {out}{extra}"


def _beyond_catalogue(
    result: EvalResult, catalog: Catalog, entries: list[CatalogueEntry], corpus: EvalResult | None
) -> list[str]:
    """The modes kubewhy names that the catalogue has no row for, with the rows they relate to."""
    known = {e.id for e in entries}
    scores = result.per_playbook()
    corpus_scores = corpus.per_playbook() if corpus else {}
    lines = [
        "",
        "## Modes beyond the catalogue",
        "",
        "Playbooks for failure modes the catalogue has no row for, and the catalogue rows they relate to (through",
        "`caused_by`, either way); `unexplained` is the report's net for an unhealthy object no playbook",
        "explains.",
        "",
        "| id | playbook | related catalogue rows | scenarios | corpus |",
        "|---|---|---|---|---|",
    ]
    for pb in sorted(catalog.playbooks, key=lambda p: p.id):
        if pb.id in known:
            continue
        related = sorted(
            {c for c in pb.caused_by if c in known}
            | {o.id for o in catalog.playbooks if pb.id in o.caused_by and o.id in known}
        )

        def score(counts: Counter[str] | None) -> str:
            if not counts or not counts["tp"] + counts["fn"] + counts["fp"]:
                return "—"
            return f"{counts['tp']}/{counts['tp'] + counts['fn']} found, {counts['fp']} false positives"

        lines.append(
            f"| {pb.id} | `playbooks/{Path(pb.source).name}` | {', '.join(related) or '—'} | "
            f"{score(scores.get(pb.id))} | {score(corpus_scores.get(pb.id))} |"
        )
    lines.append(
        "| unexplained | `kubewhy/engine/health.py` (built in) | every row (the net under the playbooks) | — | — |"
    )
    return lines


def _corpus_section(corpus: EvalResult, where: str) -> list[str]:
    """The real-world corpus per primary cause: cases and how often the cause ranks first or in the first two."""
    r = corpus.ranking()
    per: dict[str, list[CaseResult]] = {}
    for c in corpus.cases:
        if c.expected:
            per.setdefault(c.expected[0], []).append(c)
    lines = [
        "",
        "## Real-world corpus",
        "",
        f"`{where}`: objects from public bug reports and test fixtures, each with its source and licence. "
        f"{r['cases']} cases, {r['unhealthy_cases']} unhealthy over {r['modes']} primary causes and "
        f"{r['healthy_cases']} healthy: top-1 {r['top1']:.0%}, top-2 {r['top2']:.0%}, unexplained "
        f"{r['unexplained']:.0%}, {r['false_alarms']} findings above info on the healthy cases.",
        "",
        "| primary cause | cases | top-1 | top-2 |",
        "|---|---|---|---|",
    ]
    for pid in sorted(per):
        cases = per[pid]
        lines.append(f"| {pid} | {len(cases)} | {sum(c.top(1) for c in cases)} | {sum(c.top(2) for c in cases)} |")
    return lines


def coverage_markdown(
    result: EvalResult,
    catalog: Catalog,
    catalogue: Traversable,
    command: str,
    corpus: EvalResult | None = None,
    corpus_path: str = "",
) -> str:
    """The catalogue table with, per entry, its playbook, the scenarios that test it and the evaluator's result;
    then the modes beyond the catalogue and, given a corpus, its scores."""
    entries = parse_catalogue(catalogue)
    scores = result.per_playbook()
    positive: dict[str, list[str]] = {}
    negative: dict[str, list[str]] = {}
    for c in result.cases:
        for pid in c.expected:
            positive.setdefault(pid, [])
            if _short_scenario(c.scenario) not in positive[pid]:
                positive[pid].append(_short_scenario(c.scenario))
        for pid in c.absent:
            negative.setdefault(pid, [])
            if _short_scenario(c.scenario) not in negative[pid]:
                negative[pid].append(_short_scenario(c.scenario))
    lines = [
        "# Catalogue coverage",
        "",
        f"Generated by `{command}` from `CATALOGUE.md` (the failure-mode catalogue); do not edit by hand.",
        "For each entry: the playbook that names it, the scenarios whose expectations require it (positive) or",
        "forbid it (near-miss, `absent:`), and the evaluator's result over those expectations: true positives",
        "out of expected, and false positives (the id reported where a scenario forbids it, or anything on a",
        "target expected to be healthy).",
        "",
    ]
    covered = 0
    section = None
    for e in entries:
        if e.section != section:
            section = e.section
            lines += [
                "",
                f"## {section}",
                "",
                "| id | playbook | positive scenarios | near-miss scenarios | result |",
                "|---|---|---|---|---|",
            ]
        pb = catalog.by_id(e.id)
        s = scores.get(e.id)
        if pb is None:
            result_text = "missing"
        elif s is None or not (s["tp"] + s["fn"] + s["fp"]):
            result_text = "no expectation"
        else:
            ok = s["fn"] == 0 and s["fp"] == 0
            result_text = (
                f"{'pass' if ok else 'FAIL'}: {s['tp']}/{s['tp'] + s['fn']} found, "
                f"{s['fp']} false positive{'s' if s['fp'] != 1 else ''}"
            )
        if pb is not None:
            covered += 1
        playbook = (
            f"`playbooks/{Path(pb.source).name}`" if pb is not None and pb.source else ("—" if pb is None else e.id)
        )
        pos = ", ".join(f"`{n}`" for n in sorted(positive.get(e.id, []))) or "—"
        neg = ", ".join(f"`{n}`" for n in sorted(negative.get(e.id, []))) or "—"
        lines.append(f"| {e.id} | {playbook} | {pos} | {neg} | {result_text} |")
    t = result.totals
    failures = [c for c in result.cases if not c.passed]
    lines += [
        "",
        "## Overall",
        "",
        f"- catalogue entries with a playbook: {covered}/{len(entries)}",
        f"- expectations met: {len(result.cases) - len(failures)}/{len(result.cases)}",
        (
            f"- true positives {t['tp']}, false positives {t['fp']}, false negatives {t['fn']}: "
            f"precision {result.precision:.0%}, recall {result.recall:.0%}"
        ),
    ]
    for c in failures:
        lines.append(
            f"- FAIL `{_short_scenario(c.scenario)}` {c.target}: missing {', '.join(c.missing) or '-'}, "
            f"unexpected {', '.join(c.unwanted) or '-'}{' (' + c.error + ')' if c.error else ''}"
        )
    lines += _beyond_catalogue(result, catalog, entries, corpus)
    if corpus is not None:
        lines += _corpus_section(corpus, corpus_path)
    return "\n".join(lines) + "\n"
