"""Audit log throughput: records/s from ``record_*`` to committed rows, on SQLite and Postgres.

Run:  .venv/bin/python bench/bench_audit.py [--records 20000 --concurrency 1000 --batch-size 200]
Needs Postgres on 127.0.0.1:5432 (``bash scripts/services``); ``--pg-admin`` sets the DSN. A temporary SQLite file
and a temporary Postgres database are created and removed. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubewhy.audit import AuditLog, db, migrate
from kubewhy.models.findings import Finding, Fix, Report
from kubewhy.models.target import Target


def report(i: int) -> Report:
    return Report(
        target=Target("Pod", f"web-{i}", "shop"),
        duration_ms=40.0,
        findings=[
            Finding(
                "oom-killed",
                "Container killed for running out of memory",
                "critical",
                "exit 137",
                f"pod/shop/web-{i}",
                "pod",
                evidence=("lastState: OOMKilled", "limit 256Mi"),
                fixes=(Fix("Raise the memory limit", "kubectl set resources deploy/web --limits=memory=512Mi", "low"),),
            )
        ],
    )


async def run(url: str, n: int, concurrency: int, batch_size: int, fallback: Path) -> dict[str, float]:
    engine = db.make_engine(url)
    await migrate.upgrade(engine)
    audit = AuditLog(engine=engine, fallback_path=fallback, batch_size=batch_size)
    reports = [report(i) for i in range(n)]
    call_times: list[float] = []

    async def worker(w: int) -> None:
        for i in range(w, n, concurrency):
            await asyncio.sleep(0)  # concurrent front-end tasks interleave
            t = time.perf_counter()
            audit.record_diagnosis(reports[i], actor=f"user{w}", source="slack", channel="#ops")
            call_times.append(time.perf_counter() - t)

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    await audit.aclose(timeout=600)
    elapsed = time.perf_counter() - started
    await engine.dispose()
    assert audit.stats.written == n and audit.stats.to_fallback == 0, audit.stats
    call_times.sort()
    return {
        "elapsed": elapsed,
        "rate": n / elapsed,
        "call_p50_us": statistics.median(call_times) * 1e6,
        "call_p99_us": call_times[int(len(call_times) * 0.99)] * 1e6,
        "batches": audit.stats.batches,
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = await run(
            f"sqlite+aiosqlite:///{tmp}/audit.db",
            args.records,
            args.concurrency,
            args.batch_size,
            Path(tmp) / "fb1.jsonl",
        )
        rows.append(("SQLite (file, WAL)", sqlite))
        name = f"kubewhy_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.pg_admin)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = args.pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            pg = await run(f"{base}/{name}", args.records, args.concurrency, args.batch_size, Path(tmp) / "fb2.jsonl")
            rows.append(("PostgreSQL 127.0.0.1 (asyncpg)", pg))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    print(f"{args.records} diagnoses recorded by {args.concurrency} concurrent tasks, batches of {args.batch_size}\n")
    print("| backend | records/s (record → committed) | total | batches | `record_diagnosis` call p50 / p99 |")
    print("|---|---|---|---|---|")
    for label, r in rows:
        print(
            f"| {label} | {r['rate']:,.0f} | {r['elapsed']:.2f} s | {r['batches']:.0f} | "
            f"{r['call_p50_us']:.0f} µs / {r['call_p99_us']:.0f} µs |"
        )


if __name__ == "__main__":
    asyncio.run(main())
