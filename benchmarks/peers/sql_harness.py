# ruff: noqa: E501
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
import threading
import time
from typing import Any

import harness  # the measurements and the worker processes: the Redis benchmark's, with the hooks below
import psycopg

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

    # -- the hooks of `harness.measure` --------------------------------------------------------------

    poll_interval = 0.005
    listen: psycopg.Connection | None = None

    def identity(self) -> dict[str, Any]:
        return {"library": self.label or self.name, "backend": self.backend}

    def prepare(self) -> None:
        self.setup()  # the library makes its tables first; then they are emptied
        self.clear()

    def open_latency(self) -> None:
        self.listen = psycopg.connect(dsn(), autocommit=True)
        self.listen.execute(f"LISTEN {LAT_CHANNEL}")

    def next_stamp(self, timeout: float) -> float | None:
        assert self.listen is not None
        for note in self.listen.notifies(timeout=timeout, stop_after=1):
            return float(note.payload)
        return None

    def done(self) -> int:
        if harness.BODY == "append":
            return os.path.getsize(self.count_file)
        return int(self.r.execute("SELECT n FROM bench_counter WHERE id = 1").fetchone()[0])

    def finish(self) -> None:
        for closing in (self.close, getattr(self.listen, "close", None), self.r.close):
            try:
                if closing is not None:
                    closing()
            except Exception:
                pass


run_peer_main = harness.run_peer_main
