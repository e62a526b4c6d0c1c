# ruff: noqa: E501, SIM105
"""The harness the SQL benchmark's peers share (see benchmarks/README.md, `sql_bench.py`).

Every row gets a PostgreSQL database of its own (``BENCH_PG_DSN``, created and dropped by
sql_bench.py). The job body is the same for all. By default (``BENCH_BODY=append``, as in the
Redis benchmark) it appends one byte to a count file (the no-op job; completion is the file's
size). With ``BENCH_BODY=incr`` it is one autocommit ``UPDATE bench_counter SET n = n + 1 WHERE
id = 1`` in that PostgreSQL database (on a session with ``synchronous_commit = off``, so it does
not wait for a WAL flush): a job that does one round trip to the database. Latency samples take
``time.time()`` as the job starts and send it back with ``SELECT pg_notify('bench_lat', <t>)``.
jobframe on SQLite and MariaDB keeps its jobs there; the job body is the same.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from typing import Any

import harness  # the Redis benchmark's worker-process handling is reused as is
import psycopg

WorkerProcess = harness.WorkerProcess
LAT_CHANNEL = "bench_lat"
HIT = "UPDATE bench_counter SET n = n + 1 WHERE id = 1"
# The job body's own commits do not wait for the WAL flush (this session only): the work stays
# cheap and equal, and the libraries' own commits keep the server's durability settings.
CHEAP = "SET synchronous_commit = off"


def dsn() -> str:
    return os.environ["BENCH_PG_DSN"]


# -- the job bodies (run inside the workers) ----------------------------------------------------

_local = threading.local()
_async: dict[int, Any] = {}


def _conn() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = psycopg.connect(dsn(), autocommit=True)
        conn.execute(CHEAP)
    return conn


def hit() -> None:
    if harness.BODY == "append":
        harness._append()
    else:
        _conn().execute(HIT)


def stamp() -> None:
    started = time.time()
    _conn().execute("SELECT pg_notify(%s, %s)", (LAT_CHANNEL, repr(started)))


async def _aconn() -> Any:
    import asyncio

    loop = id(asyncio.get_running_loop())
    if loop not in _async:
        conn = await psycopg.AsyncConnection.connect(dsn(), autocommit=True)
        await conn.execute(CHEAP)
        _async[loop] = conn
    return _async[loop]


async def ahit() -> None:
    if harness.BODY == "append":
        harness._append()
    else:
        await (await _aconn()).execute(HIT)


async def astamp() -> None:
    started = time.time()
    await (await _aconn()).execute("SELECT pg_notify(%s, %s)", (LAT_CHANNEL, repr(started)))


# -- what each peer module provides ----------------------------------------------------------------


class Peer(harness.Peer):
    """Like harness.Peer, but the harness's own client is a psycopg connection and `clear` empties
    the library's job tables (``tables``) and resets the counter."""

    tables: tuple[str, ...] = ()  # the library's PostgreSQL tables emptied by `clear`
    label = ""  # the row's name in the table (default: name)
    backend = "PostgreSQL"

    def __init__(self) -> None:
        import tempfile

        self.r = psycopg.connect(dsn(), autocommit=True)
        self.r.execute("CREATE TABLE IF NOT EXISTS bench_counter (id int PRIMARY KEY, n bigint NOT NULL)")
        self.r.execute("INSERT INTO bench_counter VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
        self.workdir = tempfile.mkdtemp(prefix=f"bench-sql-{self.name}-")
        self.count_file = os.path.join(self.workdir, "count")
        os.environ["BENCH_COUNT_FILE"] = self.count_file  # the workers inherit it
        open(self.count_file, "wb").close()

    def clear(self) -> None:
        if self.tables:
            existing = {row[0] for row in self.r.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}  # fmt: skip
            doomed = [t for t in self.tables if t in existing]
            if doomed:
                self.r.execute(f"TRUNCATE {', '.join(doomed)} CASCADE")
        self.clear_other()
        self.r.execute("UPDATE bench_counter SET n = 0 WHERE id = 1")
        open(self.count_file, "wb").close()

    def clear_other(self) -> None:
        """Empty job tables that are not in this PostgreSQL database (SQLite, MariaDB)."""


def _count(peer: Peer) -> int:
    if harness.BODY == "append":
        return os.path.getsize(peer.count_file)
    return int(peer.r.execute("SELECT n FROM bench_counter WHERE id = 1").fetchone()[0])


def _timed(fn: Any, *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


_err = harness._err


def _wait_stamp(listen: psycopg.Connection, timeout: float) -> float | None:
    """The next `bench_lat` notification's payload, or None after ``timeout`` s."""
    for note in listen.notifies(timeout=timeout, stop_after=1):
        return float(note.payload)
    return None


def measure(peer: Peer, n: int, samples: int, timeout: float) -> dict[str, Any]:
    out: dict[str, Any] = {"library": peer.label or peer.name, "backend": peer.backend,
                           "bulk_api": peer.bulk_api or "n/a",
                           "worker_config": peer.worker_config}  # fmt: skip
    try:
        out["version"] = peer.version()
    except Exception:
        out["version"] = "?"
    workers: list[WorkerProcess] = []
    listen = psycopg.connect(dsn(), autocommit=True)
    listen.execute(f"LISTEN {LAT_CHANNEL}")
    try:
        peer.setup()
        peer.clear()
        # 1. one-by-one enqueue
        try:
            out["enqueue_one"] = n / _timed(peer.enqueue_one, n)
        except Exception as exc:
            out["enqueue_one"] = _err(exc)
        peer.clear()
        # 2. bulk enqueue
        if peer.bulk_api:
            try:
                out["enqueue_bulk"] = n / _timed(peer.enqueue_bulk, n)
            except Exception as exc:
                out["enqueue_bulk"] = _err(exc)
            peer.clear()
        else:
            out["enqueue_bulk"] = "n/a"
        # 3. processing with one worker process, started on N waiting jobs
        try:
            peer.prefill(n)
            start = time.perf_counter()
            worker = WorkerProcess(peer, burst=False)
            workers.append(worker)
            first = None
            deadline = start + timeout
            while True:
                done = _count(peer)
                now = time.perf_counter()
                if first is None and done:
                    first, first_done = now - start, done
                if done >= n:
                    break
                if not worker.alive() and _count(peer) < n:
                    raise RuntimeError(f"worker exited ({worker.proc.returncode}) after {done} "
                                       f"jobs: {worker.tail()}")  # fmt: skip
                if now > deadline:
                    raise TimeoutError(f"{done}/{n} jobs done after {timeout:.0f}s: {worker.tail(5)}")
                time.sleep(0.005)
            out["process"] = n / (now - start)
            out["first_job_s"] = first
            if first is not None and now - start > first and n > first_done:
                out["process_warm"] = (n - first_done) / (now - start - first)
        except Exception as exc:
            out["process"] = _err(exc)
        # 4. enqueue-to-start latency, worker running and idle
        try:
            if not workers or not workers[0].alive():
                if workers:
                    workers[0].stop()
                peer.clear()
                workers[:] = [WorkerProcess(peer, burst=False)]
            time.sleep(0.5)  # let the worker settle into its idle wait
            while _wait_stamp(listen, 0.05) is not None:  # drop stale notifications
                pass
            lat = []
            for i in range(samples + 5):
                t0 = time.time()
                peer.enqueue_stamp()
                got = _wait_stamp(listen, 15)
                if got is None:
                    raise TimeoutError(f"sample {i}: the job did not start within 15s: "
                                       f"{workers[0].tail(5)}")  # fmt: skip
                if i >= 5:  # 5 warm-up samples
                    lat.append(got - t0)
                time.sleep(0.01)
            lat.sort()
            out["lat_p50_ms"] = statistics.median(lat) * 1000
            out["lat_p99_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        except Exception as exc:
            out["lat_p50_ms"] = out["lat_p99_ms"] = _err(exc)
    except Exception as exc:
        for key in ("enqueue_one", "enqueue_bulk", "process", "lat_p50_ms", "lat_p99_ms"):
            out.setdefault(key, _err(exc))
    finally:
        for worker in workers:
            worker.stop()
        for closing in (peer.close, listen.close, peer.r.close):
            try:
                closing()
            except Exception:
                pass
    return out


def run_peer_main(peer_cls: type[Peer]) -> None:
    """`python sql_bench_x.py N SAMPLES TIMEOUT OUT.json` — used by sql_bench.py."""
    import json

    n, samples, timeout, path = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    result = measure(peer_cls(), n, samples, timeout)
    with open(path, "w") as f:
        json.dump(result, f)

