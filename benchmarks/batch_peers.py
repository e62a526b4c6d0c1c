# ruff: noqa: E501
"""The peers of `batch.py`: Celery's ``chord`` and RQ's ``Group`` with a job ``depends_on``
all of it, each on a Redis database of its own (FLUSHDB'd before and after), with its own
worker processes. Same measurements as jobframe's: plain (until the last job ran) and grouped
(until the callback ran)."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATABASES = {"celery": 9, "rq": 10}
DEADLINE = 600.0


def _flush(db: int) -> None:
    import redis

    redis.Redis(db=db).flushdb()


def _workers(
    peer: str, processes: int, concurrency: int, count_file: Path, log: Any
) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(HERE), "BENCH_BATCH_COUNT": str(count_file)}
    url = f"redis://127.0.0.1:6379/{DATABASES[peer]}"
    env["BENCH_CELERY_URL"] = url
    procs = []
    for n in range(processes):
        if peer == "celery":
            argv = [sys.executable, "-m", "celery", "-A", "batch_peer_jobs", "worker", "--pool", "threads",
                    "--concurrency", str(concurrency), "-n", f"w{n}@%h", "--loglevel", "WARNING", "--without-gossip",
                    "--without-mingle", "--without-heartbeat"]  # fmt: skip
        else:  # rq: one job at a time per process; SimpleWorker does not fork per job
            argv = [
                sys.executable,
                "-m",
                "rq.cli",
                "worker",
                "-u",
                url,
                "-w",
                "rq.worker.SimpleWorker",
                "bench",
                "-q",
            ]
        procs.append(
            subprocess.Popen(
                argv,
                cwd=HERE,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    return procs


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def _wait_count(path: Path, count: int) -> float:
    deadline = time.monotonic() + DEADLINE
    while not (path.exists() and path.stat().st_size >= count):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} jobs not done in {DEADLINE:.0f} s")
        time.sleep(0.002)
    return time.time()


def _celery_round(jobs: int, count_file: Path) -> dict[str, float]:
    from batch_peer_jobs import celery_done, celery_row
    from celery import chord, group

    count_file.write_bytes(b"")
    started = time.time()
    group(celery_row.s() for _ in range(jobs)).apply_async()
    plain = _wait_count(count_file, jobs) - started
    count_file.write_bytes(b"")
    started = time.time()
    result = chord(celery_row.s() for _ in range(jobs))(celery_done.s())
    last = _wait_count(count_file, jobs)
    called = result.get(timeout=DEADLINE)
    return {
        "plain_total_s": plain,
        "batch_total_s": called - started,
        "callback_ms": (called - last) * 1000,
    }


def _rq_round(jobs: int, count_file: Path) -> dict[str, float]:
    import redis
    from batch_peer_jobs import done, row
    from rq import Queue
    from rq.group import Group

    conn = redis.Redis(db=DATABASES["rq"])
    queue = Queue("bench", connection=conn)
    count_file.write_bytes(b"")
    started = time.time()
    queue.enqueue_many([Queue.prepare_data(row) for _ in range(jobs)])
    plain = _wait_count(count_file, jobs) - started
    count_file.write_bytes(b"")
    started = time.time()
    members = Group.create(connection=conn).enqueue_many(
        queue, [Queue.prepare_data(row) for _ in range(jobs)]
    )
    callback = queue.enqueue(done, depends_on=members)
    last = _wait_count(count_file, jobs)
    deadline = time.monotonic() + DEADLINE
    while (called := callback.latest_result()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the depends_on job did not run")
        time.sleep(0.005)
    called_at = float(called.return_value)
    return {
        "plain_total_s": plain,
        "batch_total_s": called_at - started,
        "callback_ms": (called_at - last) * 1000,
    }


def run(peer: str, jobs: int, rounds: int, processes: int, concurrency: int) -> dict[str, Any]:
    """Median of ``rounds`` rounds of ``peer`` (plain, then grouped with its callback)."""
    sys.path.insert(0, str(HERE))
    os.environ["BENCH_CELERY_URL"] = f"redis://127.0.0.1:6379/{DATABASES[peer]}"
    measured: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix=f"jfbatch-{peer}-") as tmp:
        count_file = Path(tmp) / "count"
        for number in range(rounds):
            _flush(DATABASES[peer])
            with (Path(tmp) / "worker.log").open("ab") as log:
                procs = _workers(peer, processes, concurrency, count_file, log)
                try:
                    time.sleep(3)  # the peers' workers have no registry to wait on here
                    values = (_celery_round if peer == "celery" else _rq_round)(jobs, count_file)
                finally:
                    _stop(procs)
                    _flush(DATABASES[peer])
            for key, value in values.items():
                measured.setdefault(key, []).append(value)
            print(
                f"  {peer} round {number + 1}: plain {values['plain_total_s']:.2f} s, grouped {values['batch_total_s']:.2f} s",
                flush=True,
            )
    result: dict[str, Any] = {key: statistics.median(v) for key, v in measured.items()}
    result["what"] = "chord" if peer == "celery" else "Group+depends_on"
    return result
