"""What each flow control costs: enqueue and processing rates of a unique, a concurrency-limited
and a rate-limited job against a plain one, on one backend, in one run.

    .venv/bin/python benchmarks/flow_control.py                          # Redis, N = 2,000
    .venv/bin/python benchmarks/flow_control.py --backend postgresql --jobs 1000 --rounds 3

Redis runs under a key prefix of its own (`jobframe_redis.testing.redis_adapter`), PostgreSQL on a
scratch database (`jobframe_sql.testing.sql_adapter`); both are removed afterwards. Every round
measures the four kinds in turn (so a slow minute of the shared machine hits each alike) and the
table shows the median of the rounds and its ratio to the plain job. None of the controls binds:
each job is unique by its own argument, the limit is above the worker's threads, the rate is far
above the worker's speed. What is measured is the bookkeeping (the lock taken at enqueue and
released when the job ends, the slot taken at fetch and freed at completion, the limiter's
reservation before each start), not waiting.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jobframe
from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.workers import wait_until, worker_thread
from jobframe.worker.runtime import WorkerOptions

THREADS = 10
_done = 0
_lock = threading.Lock()


def _count() -> None:
    global _done
    with _lock:
        _done += 1


class PlainJob(jobframe.Job):
    def perform(self, n: int) -> None:
        _count()


@jobframe.unique(key=lambda n: n)
class UniqueJob(jobframe.Job):
    def perform(self, n: int) -> None:
        _count()


@jobframe.limits_concurrency(to=4 * THREADS, duration=600)
class LimitedJob(jobframe.Job):
    def perform(self, n: int) -> None:
        _count()


@jobframe.rate_limit("100000/second", key="bench-api")
class RatedJob(jobframe.Job):
    def perform(self, n: int) -> None:
        _count()


KINDS: dict[str, type[jobframe.Job]] = {
    "plain": PlainJob,
    "unique": UniqueJob,
    "limits_concurrency": LimitedJob,
    "rate_limit": RatedJob,
}


@contextmanager
def backend(name: str) -> Iterator[QueueAdapter]:
    if name == "redis":
        from jobframe_redis.testing import redis_adapter

        with redis_adapter(label="jfbench") as on_redis:
            yield on_redis
        return
    from jobframe_sql.testing import sql_adapter

    with tempfile.TemporaryDirectory() as folder, sql_adapter(name, Path(folder)) as on_sql:
        yield on_sql


def enqueue_rate(cls: type[jobframe.Job], jobs: int, offset: int) -> float:
    """Jobs a second for ``jobs`` sequential ``perform_later`` calls."""
    started = time.perf_counter()
    for n in range(offset, offset + jobs):
        assert cls.perform_later(n).successfully_enqueued
    return jobs / (time.perf_counter() - started)


def process_rate(adapter: QueueAdapter, cls: type[jobframe.Job], jobs: int, offset: int) -> float:
    """Jobs a second for one in-process worker of `THREADS` threads to run ``jobs`` enqueued
    in bulk beforehand, from its start to the last one done."""
    global _done
    assert jobframe.perform_all_later([cls(n) for n in range(offset, offset + jobs)]) == jobs
    worker_backend = adapter.worker_backend()
    assert worker_backend is not None
    with _lock:
        _done = 0
    options = WorkerOptions(queues=["*"], concurrency=THREADS, fetch_timeout=0.2)
    started = time.perf_counter()
    with worker_thread(worker_backend, options):
        wait_until(lambda: _done >= jobs, 300, f"{jobs} {cls.__name__}s to run", interval=0.002)
        took = time.perf_counter() - started
    return jobs / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["redis", "postgresql", "mariadb"], default="redis")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    rates: dict[tuple[str, str], list[float]] = {}
    with backend(options.backend) as adapter, queue_adapters.override(adapter):
        offset = 0
        for cls in KINDS.values():  # warm the scripts, pools and caches
            enqueue_rate(cls, 50, offset)
            offset += 50
        process_rate(adapter, PlainJob, 200, offset)
        offset += 200
        for number in range(1, options.rounds + 1):
            print(f"round {number}/{options.rounds}", flush=True)
            for kind, cls in KINDS.items():
                rate = enqueue_rate(cls, options.jobs, offset)
                rates.setdefault(("enqueue", kind), []).append(rate)
                offset += options.jobs
                rate = process_rate(adapter, cls, options.jobs, offset)
                rates.setdefault(("process", kind), []).append(rate)
                offset += options.jobs
                print(f"  {kind:<20} enqueue {rates['enqueue', kind][-1]:7.0f}/s  "
                      f"process {rate:7.0f}/s", flush=True)  # fmt: skip
    print(f"\n{options.backend}, N = {options.jobs}, median of {options.rounds} rounds "
          f"(worker: 1 process, {THREADS} threads)")  # fmt: skip
    print(f"{'job':<20} {'enqueue 1-by-1 /s':>18} {'x plain':>8} {'process /s':>11} {'x plain':>8}")
    for kind in KINDS:
        enqueue = statistics.median(rates["enqueue", kind])
        process = statistics.median(rates["process", kind])
        base_e = statistics.median(rates["enqueue", "plain"])
        base_p = statistics.median(rates["process", "plain"])
        print(f"{kind:<20} {enqueue:18.0f} {enqueue / base_e:8.2f} "
              f"{process:11.0f} {process / base_p:8.2f}")  # fmt: skip
    print("rounds: " + "; ".join(
        f"{what} {kind} " + "/".join(f"{v:.0f}" for v in values)
        for (what, kind), values in rates.items()
    ))  # fmt: skip


if __name__ == "__main__":
    main()
