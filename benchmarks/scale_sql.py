"""Cost curves, PostgreSQL part: enqueue and claim rates of jobframe-sql with 0, 10^6 and 10^7
finished rows in ``jobframe_jobs`` (the history a day of 10^7 jobs leaves with the default
retention). `benchmarks/scale.py --backend postgresql` calls `measure` and `plot`; this file also
runs alone:

    .venv/bin/python benchmarks/scale_sql.py [--steps 0,1000000,10000000] [--jobs 2000]
        [--rounds 3] [--json out.json] [--png docs/images/scale-postgresql.png]

A scratch database per history size, filled by set-based INSERTs
(`jobframe_sql.testing.add_finished`), then ``ANALYZE`` (what autovacuum does after a bulk load).
Every round measures each database in turn: ``--jobs`` one-by-one `perform_later` calls
(jobs/s), the same number in bulk (`perform_all_later`, 1,000 a call), and one worker backend in
this process that claims 10 at a time from every queue and completes them (jobs/s, with the p50
and p99 of a claim). Then the sizes of the table and of the claim indexes, and the EXPLAIN of a
claim from every queue. Medians over rounds, with the median of the load averages seen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

import sqlalchemy as sa

from jobframe_sql.schema import jobs

KEYS = ("enqueue_per_s", "bulk_per_s", "claim_per_s", "claim_p50_ms", "claim_p99_ms")
STEPS = (0, 1_000_000, 10_000_000)


def _round(adapter: Any, jobs: int) -> dict[str, float]:
    import jobframe
    from jobframe import queue_adapters
    from jobframe.backend.worker import Outcome
    from jobframe.testing.reliability_jobs import RecordJob

    with queue_adapters.override(adapter):
        began = time.perf_counter()
        for i in range(jobs):
            RecordJob.perform_later("/dev/null", str(i))
        one = jobs / (time.perf_counter() - began)
        many = [RecordJob("/dev/null", str(i)) for i in range(jobs)]
        began = time.perf_counter()
        for start in range(0, jobs, 1000):
            jobframe.perform_all_later(many[start : start + 1000])
        bulk = jobs / (time.perf_counter() - began)
    backend = adapter.worker_backend()
    latencies, claimed = [], 0
    began = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        claims = backend.fetch("scale", ["*"], 10, 0)
        latencies.append(time.perf_counter() - t0)
        if not claims:
            break
        claimed += len(claims)
        backend.complete("scale", [Outcome(claim, "done") for claim in claims])
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"enqueue_per_s": one, "bulk_per_s": bulk, "claim_per_s": claimed / elapsed,
            "claim_p50_ms": latencies[len(latencies) // 2] * 1000,
            "claim_p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}  # fmt: skip


def _explain(adapter: Any) -> dict[str, Any]:
    """The plan of a claim of 10 from every queue beside 200 ready jobs (rolled back): the index
    it read, the rows it read there, the blocks and the time it took."""
    import jobframe
    from jobframe import queue_adapters
    from jobframe.testing.reliability_jobs import RecordJob
    from jobframe_sql.worker_backend import claim_values, claiming, pick_ready

    with queue_adapters.override(adapter):
        jobframe.perform_all_later([RecordJob("/dev/null", str(i)) for i in range(200)])
    statement = claiming(pick_ready(None, 10, True), claim_values("p", "t", 0))
    sql = str(statement.compile(adapter.engine, compile_kwargs={"literal_binds": True}))
    with adapter.engine.connect() as conn, conn.begin() as transaction:
        [[plan]] = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql).all()
        transaction.rollback()
    with adapter.engine.begin() as conn:
        conn.execute(sa.delete(jobs).where(jobs.c.state == "ready"))
    [limit] = [n for n in _nodes(plan[0]["Plan"]) if n["Node Type"] == "Limit"]  # the pick
    pick = [n for n in _nodes(limit) if n.get("Relation Name") == "jobframe_jobs"]
    return {"claim_index": ",".join(n.get("Index Name", n["Node Type"]) for n in pick),
            "claim_rows_read": sum(n["Actual Rows"] + n.get("Rows Removed by Filter", 0)
                                   for n in pick),
            "claim_blocks": limit["Shared Hit Blocks"] + limit["Shared Read Blocks"],
            "claim_ms": plan[0]["Execution Time"]}  # fmt: skip


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    """``node`` and every plan node under it."""
    return [node, *(m for child in node.get("Plans", []) for m in _nodes(child))]


def _sizes(adapter: Any) -> dict[str, int]:
    names = ("jobframe_jobs", "jobframe_jobs_claim", "jobframe_jobs_ready")
    with adapter.engine.connect() as conn:
        table = conn.exec_driver_sql("SELECT pg_total_relation_size('jobframe_jobs')").scalar()
        sizes = {"table_total_bytes": int(table)}
        for name in names[1:]:
            sizes[f"{name}_bytes"] = int(
                conn.exec_driver_sql(f"SELECT pg_relation_size('{name}')").scalar()
            )
    return sizes


def measure(steps: tuple[int, ...] = STEPS, jobs: int = 2000, rounds: int = 3,
            log: Any = print) -> list[dict[str, Any]]:  # fmt: skip
    """The rates at each history size of ``steps`` (finished rows), medians of ``rounds``.

    Each size gets a scratch database of its own, filled first; then every round measures each
    database in turn, so a busy minute of the shared machine hits every size alike."""
    from contextlib import ExitStack

    from jobframe_sql.adapter import SQLAdapter
    from jobframe_sql.testing import add_finished, sql_adapter

    with ExitStack() as stack:
        scratch = []
        for step in steps:
            database = stack.enter_context(sql_adapter("postgresql"))
            began = time.perf_counter()
            if step:
                add_finished(database.engine, step, finished_at=int(time.time() * 1000))
            with database.engine.connect() as conn:  # what autovacuum does after a bulk load
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE jobframe_jobs"
                )
            log(f"  {step:,} finished rows in {time.perf_counter() - began:.0f}s")
            scratch.append(database)
        runs: list[list[dict[str, Any]]] = [[] for _ in steps]
        for number in range(rounds):
            for index, database in enumerate(scratch):
                adapter = SQLAdapter(database.engine.url.render_as_string(hide_password=False))
                try:  # fresh pools each round, as a new deployment's
                    runs[index].append({**_round(adapter, jobs), "load": os.getloadavg()[0]})
                finally:
                    adapter.shutdown()
                log(f"  round {number + 1}, {steps[index]:,} finished: " + ", ".join(
                    f"{k} {v:,.1f}" for k, v in runs[index][-1].items()))  # fmt: skip
        results = []
        for step, database, done in zip(steps, scratch, runs, strict=True):
            medians = {key: statistics.median(r[key] for r in done) for key in KEYS}
            row = {"finished_rows": step, **medians, "rounds": done,
                   "load": statistics.median(r["load"] for r in done),
                   **_sizes(database), **_explain(database)}  # fmt: skip
            log(f"  {step:>10,} finished: EXPLAIN {row['claim_index']}, {row['claim_rows_read']} "
                f"rows, {row['claim_blocks']} blocks, {row['claim_ms']:.2f} ms")  # fmt: skip
            results.append(row)
    return results


def plot(results: list[dict[str, Any]], path: str) -> None:
    """The rates against the finished rows, as a PNG (matplotlib: ``pip install --group bench``)."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [max(r["finished_rows"], 1) for r in results]
    labels = [f"{r['finished_rows']:,}" for r in results]
    figure, axis = plt.subplots(figsize=(7, 4))
    for key, label in (("enqueue_per_s", "enqueue, one by one"), ("bulk_per_s", "enqueue, bulk"),
                       ("claim_per_s", "claim + complete (1 process)")):  # fmt: skip
        axis.plot(x, [r[key] for r in results], marker="o", label=label)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xticks(x, labels)
    axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    axis.set_xlabel("finished rows in jobframe_jobs")
    axis.set_ylabel("jobs / s")
    loads = ", ".join(f"{r['load']:.1f}" for r in results)
    axis.set_title(f"jobframe-sql on PostgreSQL, medians (2 cores, load averages {loads})",
                   fontsize=9)  # fmt: skip
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    lines = ["| finished rows | enqueue 1-by-1 /s | bulk /s | claim+complete /s | claim p50 ms | "
             "claim p99 ms | table + indexes | claim index | ready index | load |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    mb = 1024 * 1024
    for r in results:
        lines.append(
            f"| {r['finished_rows']:,} | {r['enqueue_per_s']:,.0f} | {r['bulk_per_s']:,.0f} | "
            f"{r['claim_per_s']:,.0f} | {r['claim_p50_ms']:.1f} | {r['claim_p99_ms']:.1f} | "
            f"{r['table_total_bytes'] / mb:,.0f} MB | "
            f"{r['jobframe_jobs_claim_bytes'] / mb:,.0f} MB | "
            f"{r['jobframe_jobs_ready_bytes'] / 1024:,.0f} kB | {r['load']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    made = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    made.add_argument("--steps", default=",".join(map(str, STEPS)))
    made.add_argument("--jobs", type=int, default=2000, help="jobs per measurement (2000)")
    made.add_argument("--rounds", type=int, default=3, help="medians of this many rounds (3)")
    made.add_argument("--json", metavar="PATH")
    made.add_argument("--png", metavar="PATH", help="draw the curves here")
    args = made.parse_args(argv)
    steps = tuple(int(s) for s in args.steps.split(","))
    results = measure(steps, args.jobs, args.rounds)
    print(table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.png:
        plot(results, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
