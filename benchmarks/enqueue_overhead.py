"""What ``perform_later`` itself costs, without a backend: microseconds per call.

    .venv/bin/python benchmarks/enqueue_overhead.py [--calls 20000] [--repeat 7] [--json PATH]

The adapter stores nothing, so what is measured is jobframe's own work per enqueue: building the
job, checking the arguments against ``perform``, the options, serializing, the callbacks and the
instrumentation. CPU-bound and in one process, so it is far steadier than the end-to-end
benchmarks on a shared machine; the best of ``--repeat`` runs is reported. Only public API is
used, so `compare_revisions.py` runs it on an earlier revision too.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jobframe
from jobframe import queue_adapters
from jobframe.queue_adapters.base import QueueAdapter


class NullAdapter(QueueAdapter):
    """Accepts every job and keeps none."""

    name = "null"

    def enqueue(self, job: Any) -> None:
        job.serialize()

    def enqueue_at(self, job: Any, timestamp: datetime) -> None:
        job.serialize()


class SmallJob(jobframe.Job):
    def perform(self, user_id: int, locale: str = "en") -> None:
        pass


class RichJob(jobframe.Job):
    def perform(self, order: dict[str, Any], *, notes: list[str]) -> None:
        pass


ORDER = {
    "id": 123456,
    "total": Decimal("99.95"),
    "placed_at": datetime(2026, 12, 6, 9, 30, tzinfo=UTC),
    "lines": [{"sku": f"SKU-{i}", "qty": i, "price": 1.5 * i} for i in range(10)],
    "customer": {"name": "Ann Example", "email": "ann@example.com", "vip": True},
}
NOTES = ["gift wrap", "leave at the door", "call before delivery"]


def per_call(enqueue: Any, calls: int, repeat: int) -> float:
    """Microseconds per call: the best of ``repeat`` runs of ``calls`` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for i in range(calls):
            enqueue(i)
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    made = argparse.ArgumentParser(description=__doc__)
    made.add_argument("--calls", type=int, default=20_000)
    made.add_argument("--repeat", type=int, default=7)
    made.add_argument("--json", metavar="PATH", help="also save the figures as JSON")
    args = made.parse_args(argv)
    results: dict[str, float] = {}
    with queue_adapters.override(NullAdapter()):
        results["small_us"] = per_call(
            lambda i: SmallJob.perform_later(i, locale="fr"), args.calls, args.repeat
        )
        results["rich_us"] = per_call(
            lambda i: RichJob.perform_later(ORDER, notes=NOTES), args.calls // 4, args.repeat
        )
        results["set_wait_us"] = per_call(
            lambda i: SmallJob.set(wait=60, queue="later", priority=5).perform_later(i),
            args.calls,
            args.repeat,
        )
    for name, value in results.items():
        print(f"{name:14} {value:8.2f} us per perform_later")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": [{"library": "jobframe-overhead", **results}]}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
