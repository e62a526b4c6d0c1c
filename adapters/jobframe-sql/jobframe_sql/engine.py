"""Engines tuned per database: SQLite gets WAL, a busy timeout and write-locking transactions."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from jobframe_sql.schema import stats

T = TypeVar("T")


def now_ms() -> int:
    return int(time.time() * 1000)


def day_and_minute(ms: int) -> tuple[str, str]:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d"), str(ms // 60000)


def create_engine(url: str, **options: Any) -> sa.Engine:
    """An engine for ``url``. On SQLite every transaction takes the write lock up front
    (``BEGIN IMMEDIATE``): several worker processes then queue on the lock instead of failing
    with "database is locked" halfway through a claim."""
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
        engine = sa.create_engine(url, **options)

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi: Any, record: Any) -> None:
            dbapi.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN itself
            cursor = dbapi.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pool_pre_ping: it costs a round trip per checkout on the enqueue path. A connection
    # found dead is invalidated by SQLAlchemy and the operation retried once (see `retrying`).
    options.setdefault("pool_recycle", 3600)
    return sa.create_engine(url, **options)


def retrying(operation: Callable[[], T]) -> T:
    """Run ``operation``; if it failed because a pooled connection had died, run it once more."""
    try:
        return operation()
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return operation()


def bump_stats(conn: sa.Connection, counts: dict[tuple[str, str], int]) -> None:
    """Add to the counters, inserting rows that don't exist yet (an upsert per dialect)."""
    if not counts:
        return
    rows = [{"kind": k, "period": p, "count": n} for (k, p), n in counts.items()]
    name = conn.dialect.name
    insert: Any
    if name in ("postgresql", "sqlite"):
        insert = (postgresql if name == "postgresql" else sqlite).insert(stats).values(rows)
        statement = insert.on_conflict_do_update(
            index_elements=["kind", "period"], set_={"count": stats.c.count + insert.excluded.count}
        )
    elif name in ("mysql", "mariadb"):
        insert = mysql.insert(stats).values(rows)
        statement = insert.on_duplicate_key_update(count=stats.c.count + insert.inserted.count)
    else:  # a portable fallback: one statement per counter
        for row in rows:
            done = conn.execute(
                sa.update(stats)
                .where(stats.c.kind == row["kind"], stats.c.period == row["period"])
                .values(count=stats.c.count + row["count"])
            )
            if done.rowcount == 0:
                conn.execute(sa.insert(stats).values(**row))
        return
    conn.execute(statement)  # every counter in one statement
