"""What keeps a database from running jobs, checked for ``jobframe doctor`` and ``jobframe work``.

The database must answer, hold the ``jobframe_*`` tables at this jobframe-sql's schema version
(else every enqueue fails, or a newer schema is misread), and, for a SQLite file, be writable and
in WAL mode: without WAL, readers block the writer and workers wait on each other.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from jobframe.doctor import Problem
from jobframe_sql.db import current_version
from jobframe_sql.engine import sqlite_file
from jobframe_sql.schema import SCHEMA_VERSION


def check(engine: sa.Engine, url: str) -> list[Problem]:
    """The problems of the database ``engine`` reaches; ``url`` names it, its password masked."""
    database = sqlite_file(engine)
    if database is not None and not os.path.exists(database):
        # Connecting would create an empty file: say what to do instead.
        return [
            Problem(
                f"the SQLite file {database} does not exist",
                f"run `jobframe db init` (or `jobframe db init --url {url}`)",
            )
        ]
    try:
        with engine.connect() as conn:
            version = current_version(conn)
            journal = (
                str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()).lower()
                if database is not None
                else None
            )
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return [
            Problem(
                f"the database at {url} cannot be reached ({reason})",
                "start the server or fix the adapter's url (JOBFRAME_URL / adapter_options.url)",
            )
        ]
    problems = _schema(version)
    if database is not None:
        problems.extend(_sqlite(database, journal))
    return problems


def _schema(version: int | None) -> list[Problem]:
    if version is None:
        return [Problem("the jobframe tables do not exist", "run `jobframe db init`")]
    if version < SCHEMA_VERSION:
        return [
            Problem(
                f"the jobframe tables are at schema version {version}, this jobframe-sql "
                f"needs {SCHEMA_VERSION}",
                "run `jobframe db upgrade`",
            )
        ]
    if version > SCHEMA_VERSION:
        return [
            Problem(
                f"the jobframe tables are at schema version {version}, newer than this "
                f"jobframe-sql ({SCHEMA_VERSION})",
                "upgrade jobframe-sql on this machine",
            )
        ]
    return []


def _sqlite(database: str, journal: str | None) -> list[Problem]:
    problems: list[Problem] = []
    folder = os.path.dirname(os.path.abspath(database))
    for path, kind in ((database, "file"), (folder, "folder")):
        if not os.access(path, os.W_OK):
            problems.append(
                Problem(
                    f"the SQLite {kind} {path} is not writable by this user",
                    "run the workers as a user that may write the database file and its "
                    "folder (SQLite writes -wal and -shm files beside it)",
                )
            )
    if journal != "wal" and not problems:
        problems.append(
            Problem(
                f"the SQLite file {database} is in journal mode {journal!r}, not WAL",
                "put it on a local file system that supports WAL (not a network share); "
                "jobframe turns WAL on by itself where it can",
            )
        )
    return problems
