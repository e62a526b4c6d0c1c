"""What a recurring tick costs on the SQL backend: one claim (the mark moved and the job's row
written in one transaction) against one plain ``enqueue`` of the same job, median of N each.

    .venv/bin/python benchmarks/recurring_claim.py                 # PostgreSQL, N = 300
    .venv/bin/python benchmarks/recurring_claim.py --database mariadb --samples 500

Runs on a scratch database of the test server (`jobframe.testing.databases`), dropped afterwards.
The three measurements take turns, so the machine's noise falls on each alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from jobframe import queue_adapters
from jobframe.job.enqueuing import enqueue_claimed
from jobframe.recurrence import RecurringTask
from jobframe.testing.conformance_jobs import RecordingJob
from jobframe.testing.databases import scratch_database
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgresql", "mariadb"], default="postgresql")
    parser.add_argument("--samples", type=int, default=300)
    options = parser.parse_args()
    with scratch_database(options.database) as url:
        adapter = SQLAdapter(url)
        db.init(adapter.engine)
        store = adapter.recurring()
        task = RecurringTask.build("bench", RecordingJob, "every second", args=("/dev/null", "t"))
        ticks = iter(T0 + timedelta(seconds=s) for s in range(10**9))
        last = [T0]

        def claim() -> None:
            tick = last[0] = next(ticks)
            assert enqueue_claimed(
                task.job(tick), adapter, lambda j: store.claim(task.name, tick, j)
            )

        def refused() -> None:  # what every other scheduler pays for the same tick
            tick = last[0]
            assert not enqueue_claimed(
                task.job(tick), adapter, lambda j: store.claim(task.name, tick, j)
            )

        times: dict[str, list[float]] = {"enqueue": [], "claim": [], "refused claim": []}
        with queue_adapters.override(adapter):
            for _ in range(20):  # warm the pools and caches
                RecordingJob("/dev/null", "t").enqueue()
                claim()
            for _ in range(options.samples):
                times["enqueue"].append(_timed(RecordingJob("/dev/null", "t").enqueue))
                times["claim"].append(_timed(claim))
                times["refused claim"].append(_timed(refused))
        adapter.shutdown()
    base = statistics.median(times["enqueue"])
    print(f"{options.database}, median of {options.samples} (µs):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<14} {median:8.0f}   x{median / base:.2f}")


if __name__ == "__main__":
    main()
