"""An `SQLAdapter` of a test's own, with the tables made: for the tests of applications and
backends that run against SQLite, PostgreSQL or MariaDB; and `add_finished`, the finished history
of the scale tests and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

from jobframe.testing.databases import scratch_database
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter

Database = Literal["sqlite", "postgresql", "mariadb"]


@contextmanager
def sql_adapter(database: Database, folder: Path | None = None) -> Iterator[SQLAdapter]:
    """An `SQLAdapter` with the jobframe tables on a database of its own: ``jobs.sqlite3`` in
    ``folder``, or a `scratch_database` on the server; shut down (and the database dropped)
    afterwards.

    Raises:
        ValueError: SQLite without a ``folder`` for its file.
    """
    with ExitStack() as stack:
        if database == "sqlite":
            if folder is None:
                raise ValueError("sql_adapter('sqlite') needs a folder for its file: pass tmp_path")
            url = f"sqlite:///{folder}/jobs.sqlite3"
        else:
            url = stack.enter_context(scratch_database(database))
        adapter = SQLAdapter(url)
        try:
            db.init(adapter.engine)
            yield adapter
            left = checked_out(adapter)
        finally:
            adapter.shutdown()
        assert_none_left(left + checked_out(adapter))


def checked_out(adapter: SQLAdapter) -> int:
    """How many connections of ``adapter``'s engines are out of their pools."""
    engines = (adapter.engine, adapter._single, adapter._worker_engine)
    pools = [engine.pool for engine in engines if engine is not None]
    return sum(pool.checkedout() for pool in pools if isinstance(pool, sa.pool.QueuePool))


def assert_none_left(count: int) -> None:
    """Fail the test that left ``count`` connections of its adapter out at its end, before or
    after ``shutdown()`` (whose disposal closes only the pooled ones): the rest were closed by
    nobody, and a later test's garbage collection reported them as a psycopg ResourceWarning,
    far from their cause.

    Raises:
        AssertionError: ``count`` is not 0.
    """
    assert count == 0, (
        f"{count} connection(s) of the test's SQLAdapter still out of the pool at its end: a "
        "thread still uses the adapter (stop and join it first), or a connection was not closed"
    )


def add_finished(engine: sa.Engine, rows: int, finished_at: int, queue: str = "default") -> None:
    """Insert ``rows`` finished jobs (finished at epoch ms ``finished_at``) in one set-based
    statement: ``generate_series`` on PostgreSQL, the Sequence engine's ``seq_1_to_N`` on MariaDB,
    a recursive CTE elsewhere. A million rows take about 20-35 s on PostgreSQL or MariaDB on a
    loaded 2-core machine, where one INSERT per row would take many minutes.

    Each row looks like a no-op job's history: a payload of a few bytes, a job class and id."""
    name = engine.dialect.name
    mysql = name in ("mysql", "mariadb")
    with engine.begin() as conn:
        base = conn.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM jobframe_jobs")).scalar()
        if name == "postgresql":
            source, number, payload = "generate_series(1, :rows) AS g(n)", "n::text", "'\\x7b7d'"
        elif mysql and _has_sequence_engine(conn):
            source, number, payload = f"seq_1_to_{int(rows)}", "seq", "0x7b7d"
        else:
            source = ("(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
                      "WHERE n < :rows) SELECT n FROM s) AS g")  # fmt: skip
            number, payload = "CAST(n AS CHAR)", "X'7b7d'"
        id_ = f"CONCAT(:prefix, {number})" if mysql else f":prefix || {number}"
        conn.execute(
            sa.text(
                "INSERT INTO jobframe_jobs (id, queue, priority, state, run_at, enqueued_at, "
                "job_class, job_id, payload, crashes, attempts, finished_at) "
                f"SELECT {id_}, :queue, 0, 'finished', :at, :at, 'NoopJob', {id_}, {payload}, "
                f"0, 1, :at FROM {source}"
            ),
            {"rows": rows, "prefix": f"h{base}-", "queue": queue, "at": finished_at},
        )


def add_finished_bulk(
    engine: sa.Engine, rows: int, finished_at: int, connections: int = 4
) -> dict[str, float]:
    """`add_finished` for PostgreSQL at ten million rows: every index of ``jobframe_jobs``
    (its primary key and unique ``id`` too) is dropped, the rows inserted by ``connections``
    INSERT ... SELECT generate_series side by side, each over its own range of ``seq`` (given,
    not drawn from the sequence, which is set past them afterwards), and the indexes built
    again, ``connections`` at a time with 1 GB of ``maintenance_work_mem``. Sorting each index
    once costs far less than keeping nine up to date row by row: 10^7 rows took 165-395 s
    through `add_finished` on a loaded 2-core machine, 66-113 s this way at load average 5-18
    (insert 17-27 s; indexes 48-86 s, as long as ``jobframe_jobs_claim``'s build alone). Four
    connections rather than two: the insert took 50-56 s with two (and the primary key kept),
    and the second connection's indexes outlasted the claim index. The table stays the
    adapter's own: logged, every index and constraint back under its name.

    Returns the seconds of each phase: ``insert``, ``indexes`` (all of them, side by side), and
    each index's build by name.

    Raises:
        ValueError: ``engine`` is not on PostgreSQL (`add_finished` serves the others).
    """
    if engine.dialect.name != "postgresql":
        raise ValueError(f"add_finished_bulk needs PostgreSQL, not {engine.dialect.name}: "
                         "use add_finished")  # fmt: skip
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as conn:
        base = conn.exec_driver_sql("SELECT COALESCE(MAX(seq), 0) FROM jobframe_jobs").scalar()
        indexes = conn.exec_driver_sql(
            "SELECT c.relname, pg_get_indexdef(c.oid), con.contype "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "LEFT JOIN pg_constraint con ON con.conindid = c.oid "
            "WHERE i.indrelid = 'jobframe_jobs'::regclass "
            "ORDER BY i.indpred IS NOT NULL, c.relname"  # the partial ones, small, last
        ).all()
        for name, _, constraint in indexes:
            drop = "ALTER TABLE jobframe_jobs DROP CONSTRAINT" if constraint else "DROP INDEX"
            conn.exec_driver_sql(f"{drop} {name}")
    first, step = int(base or 0) + 1, max(1, -(-rows // connections))
    insert = (
        "INSERT INTO jobframe_jobs (seq, id, queue, priority, state, run_at, enqueued_at, "
        "job_class, job_id, payload, crashes, attempts, finished_at) "
        f"SELECT n, 'h' || n, 'default', 0, 'finished', {int(finished_at)}, {int(finished_at)}, "
        f"'NoopJob', 'h' || n, '\\x7b7d', 0, 1, {int(finished_at)} FROM generate_series"
    )
    fills = {
        f"insert {low}": [f"{insert}({low}, {min(low + step, first + rows) - 1}) AS g(n)"]
        for low in range(first, first + rows, step)
    }
    began = time.monotonic()
    _side_by_side(autocommit, fills, connections)
    inserted = time.monotonic()
    took = _side_by_side(autocommit, {name: [sql] for name, sql, _ in indexes}, connections)
    took |= {"insert": inserted - began, "indexes": time.monotonic() - inserted}
    kinds = {"p": "PRIMARY KEY", "u": "UNIQUE"}
    with autocommit.connect() as conn:
        # after the builds: ALTER TABLE waits for every CREATE INDEX on the table to end
        for name, _, constraint in indexes:
            if constraint:
                conn.exec_driver_sql(f"ALTER TABLE jobframe_jobs ADD CONSTRAINT {name} "
                                     f"{kinds[constraint]} USING INDEX {name}")  # fmt: skip
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('jobframe_jobs', 'seq'), MAX(seq)) "
            "FROM jobframe_jobs"
        )
    return took


def _side_by_side(
    engine: sa.Engine, steps: dict[str, list[str]], connections: int
) -> dict[str, float]:
    """Run each step's statements on a connection of its own, ``connections`` steps at a time;
    return each step's seconds."""

    def run(statements: list[str]) -> float:
        began = time.monotonic()
        with engine.connect() as conn:
            conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
            for statement in statements:
                conn.exec_driver_sql(statement)
        return time.monotonic() - began

    with ThreadPoolExecutor(connections, thread_name_prefix="jobframe-fill") as pool:
        running = {name: pool.submit(run, statements) for name, statements in steps.items()}
        return {name: done.result() for name, done in running.items()}


def _has_sequence_engine(conn: sa.Connection) -> bool:
    """MariaDB's Sequence engine (``seq_1_to_N`` tables), on by default since 10.1."""
    try:
        conn.exec_driver_sql("SELECT 1 FROM seq_1_to_1")
    except sa.exc.DBAPIError:
        return False
    return True
