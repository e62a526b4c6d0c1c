"""``jobframe db init|upgrade [--url URL]``: create or upgrade the ``jobframe_*`` tables.

Schema versions are recorded in ``jobframe_schema``. Apps that manage their schema with Alembic
include `jobframe_sql.metadata` in their ``target_metadata`` instead.
"""

from __future__ import annotations

import argparse
from typing import Any

import sqlalchemy as sa

from jobframe.errors import ConfigurationError
from jobframe_sql.schema import (
    BATCH_COLUMNS,
    FLOW_COLUMNS,
    READY_INDEXES,
    SCHEMA_VERSION,
    batch_jobs,
    batches,
    jobs,
    locks,
    metadata,
    progress,
    rates,
    recurring,
    results,
    semaphores,
    timings,
    versions,
)


def _create_recurring(conn: sa.Connection) -> None:
    recurring.create(conn, checkfirst=True)


def _add_columns(conn: sa.Connection, columns: tuple[sa.Column[Any], ...]) -> None:
    """Add ``columns`` to ``jobframe_jobs`` and create its missing indexes, skipping what an
    interrupted upgrade did already."""
    have = {column["name"] for column in sa.inspect(conn).get_columns(jobs.name)}
    for column in columns:
        if column.name not in have:
            spec = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {jobs.name} ADD COLUMN {spec}")
    indexes = {index["name"] for index in sa.inspect(conn).get_indexes(jobs.name)}
    for index in jobs.indexes:
        if index.name not in indexes:
            index.create(conn)


def _add_flow_control(conn: sa.Connection) -> None:
    """The flow-control columns and indexes of ``jobframe_jobs`` and their tables. Each step is
    skipped where it is done already (a database that an interrupted upgrade left halfway)."""
    _add_columns(conn, FLOW_COLUMNS)
    for table in (locks, semaphores, rates):
        table.create(conn, checkfirst=True)


def _add_results(conn: sa.Connection) -> None:
    """``jobframe_jobs.batch_id`` and the tables of records, progress and batches (each step
    skipped where it is done already)."""
    _add_columns(conn, BATCH_COLUMNS)
    for table in (results, progress, batches, batch_jobs):
        table.create(conn, checkfirst=True)


def _add_timings(conn: sa.Connection) -> None:
    """``jobframe_timings``: run times per job class and minute (`jobframe_sql.timings`)."""
    timings.create(conn, checkfirst=True)


def _add_ready_index(conn: sa.Connection) -> None:
    """``jobframe_jobs_ready`` (`jobframe_sql.schema.READY_INDEXES`), unless an interrupted upgrade
    made it already. Building it reads the whole table once (on PostgreSQL, only its ready rows
    go in): writes to ``jobframe_jobs`` wait for that, seconds on a table of 10^7 rows."""
    if any(i["name"] == "jobframe_jobs_ready" for i in sa.inspect(conn).get_indexes(jobs.name)):
        return
    for index in READY_INDEXES:
        index.create(conn)  # the one for this database; the other's ddl_if skips it


#: version -> steps that bring a database from the previous version to it (a new database gets
#: the current tables from `create_all` and skips them)
MIGRATIONS: dict[int, list[Any]] = {
    1: [],
    2: [_create_recurring],  # recurring tasks' tick marks
    3: [_add_flow_control],  # unique locks, concurrency limits, rate limits, cancellation
    4: [_add_results],  # status, results, progress, batches
    5: [_add_timings],  # run times per job class
    6: [_add_ready_index],  # claims from every queue without sorting the ready rows
}


def current_version(conn: sa.Connection) -> int | None:
    if not sa.inspect(conn).has_table(versions.name):
        return None
    return conn.execute(sa.select(sa.func.max(versions.c.version))).scalar()


def init(engine: sa.Engine) -> int:
    """Create the tables (or bring existing ones up to date) and record the schema version.

    Idempotent. Returns the version.

    Raises:
        ConfigurationError: the database is newer than this jobframe-sql.
    """
    return upgrade(engine)[1]


def upgrade(engine: sa.Engine) -> tuple[int, int]:
    """Apply the migrations after the recorded version. Returns (from, to).

    Raises:
        ConfigurationError: the database is newer than this jobframe-sql.
    """
    with engine.begin() as conn:
        found = current_version(conn)
        if found is None:
            metadata.create_all(conn, checkfirst=True)
            conn.execute(sa.insert(versions).values(version=SCHEMA_VERSION))
            return 0, SCHEMA_VERSION
        if found > SCHEMA_VERSION:
            raise ConfigurationError(
                f"the jobframe tables are at schema version {found}, newer than this "
                f"jobframe-sql ({SCHEMA_VERSION}); upgrade jobframe-sql."
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            for step in MIGRATIONS[version]:
                step(conn)
            conn.execute(sa.insert(versions).values(version=version))
    return found, SCHEMA_VERSION


def _engine(args: argparse.Namespace) -> sa.Engine:
    from jobframe import config
    from jobframe_sql.engine import create_engine

    settings = config.settings()
    url = args.url
    if not url and settings.adapter == "sql":
        # the configured URL, else the sql adapter's own default
        url = settings.adapter_options.get("url") or "sqlite:///jobframe.sqlite3"
    if not url:
        raise ConfigurationError(
            f"no database URL: the configured adapter is {settings.adapter!r}, not 'sql'. Pass "
            '--url, or configure the sql adapter (adapter = "sql" with adapter_options.url, or '
            "JOBFRAME_ADAPTER=sql and JOBFRAME_URL)."
        )
    return create_engine(url)


def run(args: argparse.Namespace) -> int:
    """``jobframe db ACTION``: what the command registered by `jobframe_sql.plugin` does."""
    engine = _engine(args)
    try:
        if args.action == "init":
            print(f"jobframe tables ready at schema version {init(engine)}")
        else:
            before, after = upgrade(engine)
            if before == after:
                print(f"jobframe tables already at schema version {after}: nothing to upgrade")
            else:
                print(f"jobframe tables upgraded from version {before} to {after}")
    finally:
        engine.dispose()
    return 0
