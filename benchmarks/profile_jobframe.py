# ruff: noqa: E501
"""Where jobframe-redis spends its time: cProfile of (1) one-by-one enqueue and (3) processing
with one worker (run in-process so every worker thread is profiled; the profiles are merged).

    .venv/bin/python benchmarks/profile_jobframe.py [--jobs 5000] [--top 15] [--save DIR]

Uses Redis database 9 (FLUSHDB'd). Profiling slows everything down: read the shares, not the rates.
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
os.environ.setdefault("BENCH_DB", "9")
sys.path.insert(0, os.path.join(HERE, "peers"))
os.environ["BENCH_BODY"] = "incr"  # the jobs count in Redis, where this script looks

import harness  # noqa: E402
import redis  # noqa: E402

import jobframe  # noqa: E402

ROOTS = [os.path.dirname(os.path.dirname(HERE)) + os.sep, os.path.dirname(HERE) + os.sep,
         os.path.dirname(os.path.dirname(redis.__file__)) + os.sep]  # fmt: skip


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
    import jobs_jobframe

    perform_later = jobs_jobframe.NoopJob.perform_later
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

    jobframe.perform_all_later([__import__("jobs_jobframe").NoopJob(i) for i in range(n)])
    r = redis.Redis.from_url(harness.url())
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
        while int(r.get(harness.COUNT_KEY) or 0) < n:
            time.sleep(0.002)
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
        for thread in [*worker._pool.threads, *worker._threads]:
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
    parser.add_argument("--jobs", "-n", type=int, default=5000)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--save", metavar="DIR", help="also write enqueue.prof and process.prof here")
    args = parser.parse_args()
    jobframe.configure(adapter="redis", adapter_options={"url": harness.url(), "prefix": "bench"})
    r = redis.Redis.from_url(harness.url())
    r.flushdb()
    try:
        profile_enqueue(args.jobs, args.top, args.save)
        r.flushdb()
        profile_processing(args.jobs, args.concurrency, args.top, args.save)
    finally:
        r.flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
