"""An `SQLAdapter` of a test's own, with the tables made: for the tests of applications and
backends that run against SQLite, PostgreSQL or MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Literal

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
        finally:
            adapter.shutdown()
