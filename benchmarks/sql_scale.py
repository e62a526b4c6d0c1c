"""Claim contention: 1, 2, 4 and 8 processes (each its own SQLAdapter, engines and pools, as on
separate hosts) claim and complete one backlog of ready jobs on one PostgreSQL or MariaDB.

    .venv/bin/python benchmarks/sql_scale.py [--databases postgresql,mariadb] [--processes 1,2,4,8]
        [--jobs 4000] [--batch 10] [--rounds 3] [--json out.json]

Each process loops: `fetch` up to ``--batch`` jobs from every queue (a worker with concurrency 5
and as much prefetch), then `complete` them, until the backlog is gone. Reported per database and
process count (medians over rounds): jobs claimed and completed per second, the p50 and p99 of one
claim's latency, claims that came back short while jobs were left (rows skipped because another
process held them), claims that failed and were retried (deadlocks, lock timeouts), and the
share of 5 ms samples in which some session of the database waited for a row lock (with the
statements seen waiting). Each round uses a fresh scratch database. The machine's load average
is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections import Counter
from typing import Any

import sqlalchemy as sa

KEYS = ("claims_per_s", "p50_ms", "p99_ms", "short", "retries", "lock_wait_pct")


def fill_ready(engine: sa.Engine, jobs: int) -> None:
    """``jobs`` ready rows in one set-based INSERT (claims never decode a payload)."""
    mysql = engine.dialect.name in ("mysql", "mariadb")
    source = f"seq_1_to_{jobs} AS g" if mysql else f"generate_series(1, {jobs}) AS g(seq)"
    ident = "CONCAT('r', g.seq)" if mysql else "'r' || g.seq"
    payload = "0x7b7d" if mysql else "'\\x7b7d'::bytea"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO jobframe_jobs (id, queue, priority, state, run_at, enqueued_at, payload, "
            f"crashes, attempts) SELECT {ident}, 'default', 0, 'ready', 0, 0, "
            f"{payload}, 0, 0 FROM {source}"
        )


class LockSampler(threading.Thread):
    """Looks every 5 ms at the sessions of the database that wait for a lock (PostgreSQL:
    ``pg_stat_activity``; MariaDB: ``information_schema.innodb_trx``), and keeps how often one
    did and which statements waited."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(daemon=True)
        self.engine = engine
        self.samples = self.waiting = 0
        self.statements: Counter[str] = Counter()
        self.done = threading.Event()

    def run(self) -> None:
        if self.engine.dialect.name == "postgresql":
            query = ("SELECT left(query, 60) FROM pg_stat_activity WHERE datname = "
                     "current_database() AND wait_event_type = 'Lock'")  # fmt: skip
        else:
            query = ("SELECT left(trx_query, 60) FROM information_schema.innodb_trx "
                     "WHERE trx_state = 'LOCK WAIT'")  # fmt: skip
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            while not self.done.wait(0.005):
                found = [str(q) for (q,) in conn.exec_driver_sql(query).all()]
                self.samples += 1
                self.waiting += bool(found)
                self.statements.update(found)


def claimer(url: str, number: int, batch: int, start: Any, results: Any) -> None:
    """One process: its own adapter and engines; claim and complete until the backlog is gone."""
    from jobframe.backend.worker import Outcome, ProcessInfo
    from jobframe_sql.adapter import SQLAdapter
    from jobframe_sql.engine import deadlocked

    adapter = SQLAdapter(url, notify=False)
    backend = adapter.worker_backend()
    me = f"bench-{number}-{os.getpid()}"
    backend.register(ProcessInfo(me, ["*"], batch))
    latencies: list[float] = []
    claimed = short = retries = empty = 0
    start.wait()
    began = time.perf_counter()
    while empty < 3:
        t0 = time.perf_counter()
        try:
            claims = backend.fetch(me, ["*"], batch, 0)
        except sa.exc.DBAPIError as exc:
            if exc.orig is None or not deadlocked(exc.orig):
                raise
            retries += 1
            continue
        latencies.append(time.perf_counter() - t0)
        if not claims:
            empty += 1
            continue
        empty = 0
        short += len(claims) < batch
        claimed += len(claims)
        backend.complete(me, [Outcome(claim, "done") for claim in claims])
    ended = time.perf_counter()
    backend.deregister(me)
    adapter.shutdown()
    results.put({"claimed": claimed, "latencies": latencies, "short": short, "retries": retries,
                 "began": began, "ended": ended})  # fmt: skip


def run_once(database: str, processes: int, jobs: int, batch: int) -> dict[str, Any]:
    from jobframe.testing.databases import scratch_database
    from jobframe_sql import db
    from jobframe_sql.engine import create_engine

    with scratch_database(database) as url:  # type: ignore[arg-type]
        engine = create_engine(url)
        db.init(engine)
        fill_ready(engine, jobs)
        context = multiprocessing.get_context("spawn")
        start, results = context.Event(), context.Queue()
        procs = [context.Process(target=claimer, args=(url, n, batch, start, results))
                 for n in range(processes)]  # fmt: skip
        for proc in procs:
            proc.start()
        time.sleep(0.5 + 0.5 * processes)  # imports and first connections: not measured
        sampler = LockSampler(engine)
        sampler.start()
        start.set()
        found = [results.get(timeout=300) for _ in procs]
        sampler.done.set()
        sampler.join(10)
        for proc in procs:
            proc.join(30)
        engine.dispose()
    latencies = sorted(x for f in found for x in f["latencies"])
    claimed = sum(f["claimed"] for f in found)
    assert claimed == jobs, f"{claimed} jobs claimed of {jobs}"
    elapsed = max(f["ended"] for f in found) - min(f["began"] for f in found)
    return {
        "claims_per_s": claimed / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "short": sum(f["short"] for f in found),
        "retries": sum(f["retries"] for f in found),
        "lock_wait_pct": 100 * sampler.waiting / max(sampler.samples, 1),
        "waited_on": dict(sampler.statements.most_common(3)),
    }


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    made = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    made.add_argument("--databases", default="postgresql,mariadb")
    made.add_argument("--processes", default="1,2,4,8")
    made.add_argument("--jobs", type=int, default=4000, help="backlog per run (4000)")
    made.add_argument("--batch", type=int, default=10, help="jobs per claim (10)")
    made.add_argument("--rounds", type=int, default=3, help="medians of this many rounds (3)")
    made.add_argument("--json", metavar="PATH")
    args = made.parse_args(argv)
    counts = [int(n) for n in args.processes.split(",")]
    print(f"load average before: {load()}", flush=True)
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for number in range(args.rounds):
        for database in args.databases.split(","):
            for processes in counts:  # every configuration once per round: noise hits all alike
                result = run_once(database, processes, args.jobs, args.batch)
                runs.setdefault((database, processes), []).append(result)
                print(f"round {number + 1} {database} x{processes}: "
                      f"{result['claims_per_s']:.0f}/s, waited on {result['waited_on']}",
                      flush=True)  # fmt: skip
    print(f"load average after: {load()}\n")
    print("| database | processes | jobs/s claimed+completed | claim p50 ms | claim p99 ms | "
          "short claims | retried claims | samples with a lock wait |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    table = []
    for (database, processes), results in runs.items():
        row = {k: statistics.median(r[k] for r in results) for k in KEYS}
        table.append({"database": database, "processes": processes, **row,
                      "rounds": [dict(r) for r in results]})  # fmt: skip
        print(f"| {database} | {processes} | {row['claims_per_s']:,.0f} | {row['p50_ms']:.1f} | "
              f"{row['p99_ms']:.1f} | {row['short']:.0f} | {row['retries']:.0f} | "
              f"{row['lock_wait_pct']:.0f}% |")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load": load(), "jobs": args.jobs, "batch": args.batch, "rows": table}, f,
                      indent=1)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
