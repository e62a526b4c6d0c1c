"""How soon a job blocked by its concurrency limit starts once the job holding the slot ends, on
the SQL backend: from the end of the holder's ``perform`` to the start of the blocked one's, with
no maintenance pass to help (``scheduler_interval`` 60 s: the settling of the claim readies it).
Median of N rounds, one in-process worker of two threads.

    .venv/bin/python benchmarks/sql_blocked_latency.py               # SQLite, PostgreSQL, MariaDB
    .venv/bin/python benchmarks/sql_blocked_latency.py --database postgresql --rounds 50

Runs on a scratch database of the test servers (`jobframe.testing.databases`), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import jobframe
from jobframe import queue_adapters
from jobframe.testing.conformance_jobs import read, record
from jobframe.testing.databases import scratch_database
from jobframe.testing.workers import wait_until, worker_thread
from jobframe.worker.options import WorkerOptions
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.engine import create_engine


@jobframe.limits_concurrency(to=1, key=lambda journal, key, hold=None: key, duration=30)
class EdgeJob(jobframe.Job):
    """One at a time per ``key``; records when its ``perform`` began and ended."""

    job_name = "benchmarks.EdgeJob"

    def perform(self, journal: str, key: str, hold: str | None = None) -> None:
        start = time.time()
        while hold and not os.path.exists(hold):
            time.sleep(0.005)  # the benchmark creates the file: no event to share
        record(journal, tag=key, start=start, end=time.time())


@contextmanager
def _database(name: str) -> Iterator[str]:
    if name == "sqlite":
        yield f"sqlite:///{tempfile.mkdtemp()}/blocked.sqlite3"
    else:
        with scratch_database(name) as url:  # type: ignore[arg-type]
            yield url


def measure(name: str, rounds: int) -> list[float]:
    """The added start latency of each round, in seconds."""
    with _database(name) as url:
        engine = create_engine(url)
        db.init(engine)
        engine.dispose()
        adapter = SQLAdapter(url)
        folder = tempfile.mkdtemp()
        journal = os.path.join(folder, "journal.jsonl")
        options = WorkerOptions(queues=["*"], concurrency=2, scheduler_interval=60)
        delays = []
        inspector = adapter.inspector()
        with queue_adapters.override(adapter), worker_thread(adapter.worker_backend(), options):
            for n in range(rounds):
                hold = os.path.join(folder, f"hold{n}")
                EdgeJob.perform_later(journal, f"k{n}", hold=hold)
                wait_until(lambda: inspector.count("running") == 1, 10, "the holder running")
                EdgeJob.perform_later(journal, f"k{n}")
                wait_until(lambda: inspector.count("blocked") == 1, 10, "one blocked job")
                open(hold, "w").close()
                wait_until(lambda: len(read(journal)) == 2 * (n + 1), 10, "both ran")  # noqa: B023
                holder, released = read(journal)[-2:]
                delays.append(released["start"] - holder["end"])
        adapter.shutdown()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    for name in [args.database] if args.database else ["sqlite", "postgresql", "mariadb"]:
        delays = sorted(measure(name, args.rounds))
        print(
            f"{name:>10}: median {statistics.median(delays) * 1000:.1f} ms, "
            f"max {delays[-1] * 1000:.1f} ms over {len(delays)} rounds"
        )


if __name__ == "__main__":
    main()
