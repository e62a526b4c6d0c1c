# ruff: noqa: E501
"""What a batch costs: 10,000 jobs enqueued with ``perform_all_later`` inside ``jobframe.batch``,
run by real ``jobframe work`` processes, timed until the ``on_success`` callback ran; against the
same 10,000 jobs without a batch, timed until the last one ran. Medians of rounds.

    .venv/bin/pip install --group bench
    .venv/bin/python benchmarks/batch.py                       # redis and postgresql, 3 rounds
    .venv/bin/python benchmarks/batch.py --backends redis --jobs 2000 --rounds 1 --peers none

Per backend and round, the two runs take turns (which goes first alternates). Reported:

- ``plain s`` / ``batch s``: from the start of the enqueue to the last job's end (plain) or to
  the callback's ``perform`` (batch); ``enqueue ms``: the ``perform_all_later`` call alone (with
  the batch's open and seal for the batch run);
- ``overhead µs/job``: (batch s - plain s) / jobs: the wall-clock cost of counting each job in
  the batch (at enqueue and when it finishes) and of firing the callback;
- ``callback ms``: from the last row job's end to the callback's ``perform``;
- ``round trips/job plain/batch``: counted client-side in a separate in-process run
  (``--count-jobs`` jobs, the worker in a thread): Redis requests sent (a pipeline or a script
  call is one) or SQL statements plus commits, divided by the jobs; the enqueue, every fetch and
  outcome, and the wait for the callback included.

Peers (``--peers``): Celery's ``chord`` (a group with a callback; needs its Redis result
backend) and RQ's ``depends_on`` on every job of a ``Group`` (RQ has groups but no group
callback), on the same Redis, each with its own worker processes. Redis keys live under a prefix
of their own (jobframe) or a database of their own (peers: 9 and 10, FLUSHDB'd before and after);
PostgreSQL gets a scratch database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import batch_jobs  # noqa: E402
import batch_peers  # noqa: E402

import jobframe  # noqa: E402
from jobframe import queue_adapters  # noqa: E402
from jobframe.testing.workers import worker_thread  # noqa: E402
from jobframe.worker.runtime import WorkerOptions  # noqa: E402

DEADLINE = 600.0  # seconds one run may take before the benchmark gives up on it


@contextlib.contextmanager
def backend(name: str) -> Iterator[tuple[Any, str]]:
    """A fresh store for ``name``: the adapter and the ``jobframe.toml`` its workers read."""
    if name == "redis":
        from jobframe.testing.databases import REDIS_URL
        from jobframe_redis.testing import redis_adapter

        with redis_adapter(label="jfbatch") as adapter:
            prefix = adapter.store.keys.base.strip("{}:")
            yield (
                adapter,
                f'adapter = "redis"\nadapter_options = {{ url = "{REDIS_URL}", prefix = "{prefix}" }}\n',
            )
        return
    from jobframe.testing.databases import scratch_database
    from jobframe_sql import db
    from jobframe_sql.adapter import SQLAdapter

    with scratch_database("postgresql") as url:
        adapter = SQLAdapter(url)
        db.init(adapter.engine)
        try:
            yield adapter, f'adapter = "sql"\nadapter_options = {{ url = "{url}" }}\n'
        finally:
            adapter.shutdown()


class Workers:
    """``jobframe work batch_jobs`` in its own process group, in a folder holding its settings."""

    def __init__(
        self, folder: Path, settings: str, count_file: Path, processes: int, concurrency: int
    ) -> None:
        (folder / "jobframe.toml").write_text(settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
        env.update(PYTHONPATH=str(HERE), BENCH_BATCH_COUNT=str(count_file), PYTHONUNBUFFERED="1")
        argv = [sys.executable, "-m", "jobframe", "work", "batch_jobs", "--queues", "*",
                "--processes", str(processes), "--concurrency", str(concurrency),
                "--log-level", "WARNING"]  # fmt: skip
        self.log = (folder / "worker.log").open("wb")
        self.proc = subprocess.Popen(argv, cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        self.folder = folder

    def wait_registered(self, inspector: Any, processes: int) -> None:
        deadline = time.monotonic() + 60
        while len(inspector.workers()) < processes:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"workers did not start:\n{(self.folder / 'worker.log').read_text()[-2000:]}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()


def wait_count(path: Path, count: int, workers: Workers) -> float:
    """Poll the count file (every 2 ms) until it holds ``count`` bytes; the time it did."""
    deadline = time.monotonic() + DEADLINE
    while True:
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size >= count:
                return time.time()
        if workers.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"{count} jobs not done:\n{(workers.folder / 'worker.log').read_text()[-2000:]}"
            )
        time.sleep(0.002)


def run_plain(jobs: int, count_file: Path, workers: Workers) -> dict[str, float]:
    count_file.write_bytes(b"")
    made = [batch_jobs.RowJob() for _ in range(jobs)]
    started = time.time()
    jobframe.perform_all_later(made)
    enqueued = time.time()
    ended = wait_count(count_file, jobs, workers)
    return {"total_s": ended - started, "enqueue_ms": (enqueued - started) * 1000}


def run_batch(jobs: int, count_file: Path, workers: Workers) -> dict[str, float]:
    count_file.write_bytes(b"")
    made = [batch_jobs.RowJob() for _ in range(jobs)]
    started = time.time()
    with jobframe.batch(on_success=batch_jobs.DoneJob(), description="benchmark") as batch:
        jobframe.perform_all_later(made)
    enqueued = time.time()
    last_row = wait_count(count_file, jobs, workers)
    info = batch.status()
    called_at = jobframe.job_result(info.callbacks["on_success"], timeout=DEADLINE)
    return {"total_s": called_at - started, "enqueue_ms": (enqueued - started) * 1000,
            "callback_ms": (called_at - last_row) * 1000}  # fmt: skip


@contextlib.contextmanager
def counting(name: str) -> Iterator[list[int]]:
    """Count this process's round trips to the backend while the block runs."""
    count = [0]
    if name == "redis":
        # redis-py's requests (a pipeline is one), and jobframe_redis.wire's script calls
        from redis.connection import AbstractConnection

        from jobframe_redis.wire import Wire

        patched = [(AbstractConnection, "send_packed_command"), (Wire, "request")]
        originals = [getattr(cls, attr) for cls, attr in patched]

        def counted(original: Any) -> Any:
            def send(self: Any, *args: Any, **kwargs: Any) -> Any:
                count[0] += 1
                return original(self, *args, **kwargs)

            return send

        for (cls, attr), original in zip(patched, originals, strict=True):
            setattr(cls, attr, counted(original))
        try:
            yield count
        finally:
            for (cls, attr), original in zip(patched, originals, strict=True):
                setattr(cls, attr, original)
        return
    import sqlalchemy as sa

    def note(*_: Any) -> None:
        count[0] += 1

    events = ("before_cursor_execute", "commit")
    for event in events:
        sa.event.listen(sa.Engine, event, note)
    try:
        yield count
    finally:
        for event in events:
            sa.event.remove(sa.Engine, event, note)


def round_trips(name: str, jobs: int, folder: Path) -> dict[str, float]:
    """Round trips per job without and with a batch, in-process, worker in a thread (the
    enqueue, every fetch and outcome, and the wait for the callback, all counted)."""
    counts = {}
    for kind, run in (("plain", run_plain), ("batch", run_batch)):
        with backend(name) as (adapter, _), queue_adapters.override(adapter):
            count_file = folder / f"count-{kind}"
            os.environ["BENCH_BATCH_COUNT"] = str(count_file)
            batch_jobs._count_fd = None
            options = WorkerOptions(
                queues=["*"], concurrency=4, heartbeat_interval=5.0, fetch_timeout=2.0
            )
            with counting(name) as count, worker_thread(adapter.worker_backend(), options):
                run(jobs, count_file, _InProcess())
            counts[kind] = count[0]
    return {kind: value / jobs for kind, value in counts.items()}


class _InProcess:
    """`wait_count`'s view of workers running in a thread: never exited."""

    folder = Path(".")

    class proc:
        @staticmethod
        def poll() -> None:
            return None


def measure(name: str, options: argparse.Namespace) -> dict[str, Any]:
    rounds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="jfbatch-") as tmp:
        folder = Path(tmp)
        for number in range(options.rounds):
            with backend(name) as (adapter, settings), queue_adapters.override(adapter):
                count_file = folder / "count"
                workers = Workers(
                    folder, settings, count_file, options.processes, options.concurrency
                )
                try:
                    workers.wait_registered(adapter.inspector(), options.processes)
                    order: list[tuple[str, Callable[..., dict[str, float]]]] = [
                        ("plain", run_plain),
                        ("batch", run_batch),
                    ]
                    for kind, run in order if number % 2 == 0 else order[::-1]:
                        for key, value in run(options.jobs, count_file, workers).items():
                            rounds.setdefault(f"{kind}_{key}", []).append(value)
                finally:
                    workers.stop()
            print(f"  {name} round {number + 1}: plain {rounds['plain_total_s'][-1]:.2f} s, "
                  f"batch {rounds['batch_total_s'][-1]:.2f} s", flush=True)  # fmt: skip
        trips = round_trips(name, options.count_jobs, folder) if options.count_jobs else None
    result: dict[str, Any] = {key: statistics.median(values) for key, values in rounds.items()}
    result["rounds"] = rounds
    result["overhead_us"] = (result["batch_total_s"] - result["plain_total_s"]) / options.jobs * 1e6
    result["round_trips"] = trips
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="redis,postgresql")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--concurrency", type=int, default=8, help="threads per process (8)")
    parser.add_argument("--count-jobs", type=int, default=1000,
                        help="jobs of the in-process run that counts round trips (0: skip it)")  # fmt: skip
    parser.add_argument("--peers", default="celery,rq", help="celery, rq, or none")
    options = parser.parse_args()
    results = {}
    for name in [b.strip() for b in options.backends.split(",") if b.strip() not in ("", "none")]:
        print(
            f"jobframe on {name}: {options.jobs} jobs, {options.processes} processes x {options.concurrency} threads",
            flush=True,
        )
        results[name] = measure(name, options)
    peers = {}
    for peer in [p.strip() for p in options.peers.split(",") if p.strip() and p.strip() != "none"]:
        print(f"{peer} on redis: {options.jobs} jobs", flush=True)
        try:
            peers[peer] = batch_peers.run(
                peer, options.jobs, options.rounds, options.processes, options.concurrency
            )
        except Exception as exc:  # a peer that cannot run here is reported, not fatal
            peers[peer] = {"error": f"{type(exc).__name__}: {exc}"}
    report(results, peers, options)


def report(results: dict[str, Any], peers: dict[str, Any], options: argparse.Namespace) -> None:
    print(
        f"\n{options.jobs} jobs, {options.processes} worker processes x {options.concurrency} threads, median of {options.rounds} round(s)"
    )
    print(
        f"{'':22} {'plain s':>8} {'batch s':>8} {'overhead µs/job':>16} {'enqueue ms plain/batch':>23} {'callback ms':>12} {'round trips/job plain/batch':>28}"
    )
    for name, r in results.items():
        trips = (
            "-"
            if r["round_trips"] is None
            else f"{r['round_trips']['plain']:.2f} / {r['round_trips']['batch']:.2f}"
        )
        enqueue = f"{r['plain_enqueue_ms']:.0f} / {r['batch_enqueue_ms']:.0f}"
        print(
            f"jobframe {name:13} {r['plain_total_s']:8.2f} {r['batch_total_s']:8.2f} {r['overhead_us']:16.1f} {enqueue:>23} {r['batch_callback_ms']:12.1f} {trips:>28}"
        )
    for name, r in peers.items():
        if "error" in r:
            print(f"{name:22} did not run: {r['error']}")
            continue
        overhead = (r["batch_total_s"] - r["plain_total_s"]) / options.jobs * 1e6
        print(
            f"{name + ' ' + r['what']:22} {r['plain_total_s']:8.2f} {r['batch_total_s']:8.2f} {overhead:16.1f} {'':>23} {r['callback_ms']:12.1f} {'-':>28}"
        )
    for name, r in results.items():
        for key in ("plain_total_s", "batch_total_s"):
            print(f"  {name} {key}: " + ", ".join(f"{v:.2f}" for v in r["rounds"][key]))


if __name__ == "__main__":
    main()
