# ruff: noqa: E501
"""Where jobframe-sql on PostgreSQL spends its time: cProfile of (1) one-by-one enqueue and (3)
processing with one worker (in-process so every worker thread is profiled; profiles merged).

    .venv/bin/python benchmarks/sql_bench.py --profile [--jobs 5000] [--top 15]

Run by sql_bench.py on a fresh database (BENCH_SQL_URL, BENCH_PG_DSN), dropped afterwards.
Profiling slows everything down: read the shares, not the rates.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ["BENCH_BODY"] = "incr"  # the jobs count in PostgreSQL, where this script looks

import sql_harness  # noqa: E402
import sqlalchemy  # noqa: E402

import jobframe  # noqa: E402

ROOTS = [os.path.dirname(os.path.dirname(os.path.dirname(HERE))) + os.sep,
         os.path.dirname(os.path.dirname(HERE)) + os.sep,
         os.path.dirname(os.path.dirname(sqlalchemy.__file__)) + os.sep]  # fmt: skip


def _where(func: tuple[str, int, str]) -> str:
    path, line, name = func
    for root in ROOTS:
        if path.startswith(root):
            path = path[len(root):]
            break
    return f"{name}" if path == "~" else f"{path}:{line}({name})"


def report(stats: pstats.Stats, title: str, top: int) -> None:
    raw = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"\n### {title}  (total profiled time {total:.2f}s over all threads)")
    for key, heading in (("cum", "cumulative"), ("tot", "self")):
        index = 3 if key == "cum" else 2
        rows = sorted(raw.items(), key=lambda kv: kv[1][index], reverse=True)[:top]
        print(f"\ntop {top} by {heading} time:")
        print(f"{'calls':>9} {'self s':>8} {'cum s':>8}  function")
        for func, (_cc, nc, tt, ct, _callers) in rows:
            print(f"{nc:>9} {tt:>8.3f} {ct:>8.3f}  {_where(func)}")


def profile_enqueue(n: int, top: int, save: str | None) -> None:
    import sql_jobs_jobframe

    perform_later = sql_jobs_jobframe.NoopJob.perform_later
    perform_later(-1)  # connect, load the script
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for i in range(n):
        perform_later(i)
    profiler.disable()
    elapsed = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    if save:
        stats.dump_stats(os.path.join(save, "enqueue.prof"))
    report(stats, f"(1) {n} x NoopJob.perform_later: {elapsed:.2f}s under cProfile "
                  f"({n / elapsed:,.0f}/s)", top)  # fmt: skip


def profile_processing(n: int, concurrency: int, top: int, save: str | None) -> None:
    from jobframe import queue_adapters
    from jobframe.worker.runtime import Worker, WorkerOptions

    jobframe.perform_all_later([__import__("sql_jobs_jobframe").NoopJob(i) for i in range(n)])
    r = sql_harness.psycopg.connect(sql_harness.dsn(), autocommit=True)
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            original_run(self)
        finally:
            profiler.disable()
            with lock:
                profiles.append(profiler)

    worker = Worker(queue_adapters.get().worker_backend(),
                    WorkerOptions(queues=["*"], concurrency=concurrency))  # fmt: skip

    def watch() -> None:
        while r.execute("SELECT n FROM bench_counter WHERE id = 1").fetchone()[0] < n:
            time.sleep(0.005)
        done.append(time.perf_counter())
        worker.stop()

    done: list[float] = []
    threading.Thread(target=watch, daemon=True).start()  # not profiled: started before the patch
    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    main = cProfile.Profile()
    start = time.perf_counter()
    main.enable()
    try:
        worker.run(install_signals=False)
    finally:
        main.disable()
        pool_shutdown = getattr(worker._pool, "shutdown", None)  # the runtime's pool API varies
        if pool_shutdown is not None:
            pool_shutdown(wait=True)
        for thread in getattr(worker, "_threads", []):
            thread.join(5)
        threading.Thread.run = original_run  # type: ignore[method-assign]
    elapsed = done[0] - start
    stats = pstats.Stats(main)
    with lock:
        for profiler in profiles:
            stats.add(profiler)
    if save:
        stats.dump_stats(os.path.join(save, "process.prof"))
    report(stats, f"(3) worker, concurrency {concurrency}, {n} pre-enqueued jobs: {elapsed:.2f}s "
                  f"under cProfile ({n / elapsed:,.0f}/s); {len(profiles) + 1} threads merged", top)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jobs", type=int, nargs="?", default=5000)
    parser.add_argument("top", type=int, nargs="?", default=15)
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("BENCH_JOBFRAME_CONCURRENCY", "5")))
    parser.add_argument("--save", metavar="DIR", default=os.environ.get("BENCH_PROFILE_SAVE"),
                        help="also write enqueue.prof and process.prof here")  # fmt: skip
    args = parser.parse_args()
    from jobframe import queue_adapters
    from jobframe_sql import db

    jobframe.configure(adapter="sql", adapter_options={"url": os.environ["BENCH_SQL_URL"]})
    db.init(queue_adapters.get().engine)
    peer = sql_harness.Peer()  # creates the counter row
    peer.tables = ("jobframe_jobs", "jobframe_processes", "jobframe_stats")
    peer.clear()
    profile_enqueue(args.jobs, args.top, args.save)
    peer.clear()
    profile_processing(args.jobs, args.concurrency, args.top, args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
