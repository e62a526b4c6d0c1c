"""The in-process ``async`` adapter: latency of one job and throughput of 10,000 no-op jobs.

    .venv/bin/python benchmarks/async_bench.py [--jobs 10000] [--concurrency 4] [--rounds 3]

Only the public API (``perform_later``, ``perform_all_later``, ``wait_idle``), so the same script
measures any version of the adapter: run it on the old and the new code one after the other.
Latency is from just before ``perform_later`` to the start of ``perform`` in a worker thread,
one job at a time from idle (p50 and p99 over 500 jobs).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import jobframe
from jobframe import queue_adapters
from jobframe.queue_adapters.async_adapter import AsyncAdapter

started = threading.Event()
started_at: list[float] = []


class NoopJob(jobframe.Job):
    def perform(self, n: int) -> None:
        pass


class PingJob(jobframe.Job):
    def perform(self) -> None:
        started_at.append(time.perf_counter())
        started.set()


def latency(samples: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds from just before ``perform_later`` to ``perform`` starting."""
    delays = []
    for _ in range(samples):
        started.clear()
        began = time.perf_counter()
        PingJob.perform_later()
        if not started.wait(10):
            raise SystemExit("a job did not start within 10 s")
        delays.append(1000 * (started_at[-1] - began))
        time.sleep(0.002)  # let the worker go idle again: latency from idle, as a web request sees
    delays.sort()
    return statistics.median(delays), delays[int(0.99 * (len(delays) - 1))]


def throughput(adapter: AsyncAdapter, jobs: int, bulk: bool) -> tuple[float, float]:
    """(enqueue rate, end-to-end rate) in jobs per second for ``jobs`` no-op jobs."""
    began = time.perf_counter()
    if bulk:
        jobframe.perform_all_later([NoopJob(n) for n in range(jobs)])
    else:
        for n in range(jobs):
            NoopJob.perform_later(n)
    enqueued = time.perf_counter()
    if not adapter.wait_idle(120):
        raise SystemExit("the jobs did not finish within 120 s")
    done = time.perf_counter()
    return jobs / (enqueued - began), jobs / (done - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    adapter = AsyncAdapter(concurrency=args.concurrency)
    with queue_adapters.override(adapter):
        NoopJob.perform_later(-1)  # start the threads
        adapter.wait_idle(10)
        for round in range(1, args.rounds + 1):
            p50, p99 = latency(500)
            one_in, one_all = throughput(adapter, args.jobs, bulk=False)
            bulk_in, bulk_all = throughput(adapter, args.jobs, bulk=True)
            print(
                f"round {round}: latency p50 {p50:.3f} ms p99 {p99:.3f} ms | "
                f"{args.jobs} jobs 1-by-1: enqueue {one_in:,.0f}/s, enqueue+run {one_all:,.0f}/s | "
                f"bulk: enqueue {bulk_in:,.0f}/s, enqueue+run {bulk_all:,.0f}/s",
                flush=True,
            )
    adapter.shutdown(10)


if __name__ == "__main__":
    main()
