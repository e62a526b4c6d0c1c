# ruff: noqa: E501
"""What each step of a job's log lines costs, in µs per job, timed in one thread of this process
(``logging_cost.py --pieces``). The worker's end-to-end cost is larger: five job threads take turns
on the GIL, and every write to the log file is a system call that hands the GIL to another thread.

Steps, each on top of the one before (every row is the best of 5 runs of 20,000 jobs, CPU time of the process: on a shared machine wall time moves with the neighbours):

- ``events at WARNING``: the job's ``perform_start`` and ``perform`` events reach the log
  subscriber, which logs nothing (the level is WARNING);
- ``records, no handler``: at INFO, the log records are built and dropped by a handler that does
  nothing (the message, ``extra`` fields, the record itself);
- ``+ format``: the handler formats each record (text; ``json``: the JSON formatter);
- ``+ write``: the handler writes each formatted line to a file.

Each step is run for the subscriber's lines (two lines per job before issue 18, one now) with
``logging``'s stock handler and formatter, and with the worker's (`jobframe.worker.log_handler`).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable

import jobframe
from jobframe import log_subscriber
from jobframe.notifications import Event

RUNS, JOBS = 5, 20_000
STOCK_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


class NoopJob(jobframe.Job):
    queue_as = "bench"

    def perform(self, i: int) -> None:
        pass


class Drop(logging.Handler):
    """Takes every record and does nothing with it."""

    def emit(self, record: logging.LogRecord) -> None:
        pass


class FormatOnly(logging.Handler):
    """Formats every record and drops the text."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


def per_job(emit: Callable[[], None]) -> float:
    """The best of ``RUNS`` runs of ``emit`` ``JOBS`` times: µs per call."""
    best = float("inf")
    for _ in range(RUNS):
        start = time.process_time()
        for _ in range(JOBS):
            emit()
        best = min(best, time.process_time() - start)
    return best * 1e6 / JOBS


def job_events() -> Callable[[], None]:
    """One job's two events, delivered to the log subscriber as a worker delivers them."""
    job = NoopJob(7)
    job.executions = 1
    start, done = Event("perform_start", job), Event("perform", job, duration=0.00004)
    on_event = log_subscriber.on_event

    def emit() -> None:
        on_event(start)
        on_event(done)

    return emit


def with_handler(handler: logging.Handler, level: int) -> Callable[[], None]:
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return job_events()


def main() -> int:
    from jobframe.worker import log_handler
    from jobframe.worker.logs import JsonFormatter

    jobframe.configure(adapter="test")
    scratch = tempfile.TemporaryDirectory(prefix="bench-logpieces-")
    stream = open(os.path.join(scratch.name, "worker.log"), "w")  # noqa: SIM115
    rows: list[tuple[str, float]] = []
    rows.append(("events at WARNING", per_job(with_handler(Drop(), logging.WARNING))))
    rows.append(("records, no handler", per_job(with_handler(Drop(), logging.INFO))))
    for name, formatter in (("text", logging.Formatter(STOCK_FORMAT)),
                            ("json", JsonFormatter())):  # fmt: skip
        only = FormatOnly()
        only.setFormatter(formatter)
        rows.append((f"+ format, stock {name}", per_job(with_handler(only, logging.INFO))))
        stock = logging.StreamHandler(stream)
        stock.setFormatter(formatter)
        rows.append((f"+ write, stock {name}", per_job(with_handler(stock, logging.INFO))))
    for name in ("text", "json"):
        only = FormatOnly()
        only.setFormatter(log_handler.formatter(name))
        rows.append((f"+ format, worker's {name}", per_job(with_handler(only, logging.INFO))))
        ours = log_handler.BufferedStreamHandler(stream)
        ours.setFormatter(log_handler.formatter(name))
        rows.append((f"+ write, worker's {name}", per_job(with_handler(ours, logging.INFO))))
        ours.close()
    lines = stream.tell()
    stream.close()
    logging.getLogger().handlers[:] = []
    print(f"µs per job, best of {RUNS} x {JOBS:,} jobs, one thread (Python {sys.version.split()[0]};"
          f" load average {os.getloadavg()[0]:.2f})")  # fmt: skip
    for label, us in rows:
        print(f"  {label:28} {us:7.2f}")
    print(f"({lines:,} bytes of log written, then deleted)")
    scratch.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
