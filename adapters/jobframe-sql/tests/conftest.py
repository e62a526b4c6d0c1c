"""Fixtures for the SQL backend's tests: SQLite (a file), PostgreSQL and MariaDB, each real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobframe import queue_adapters
from jobframe.testing.databases import scratch_database
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import metadata
from jobframe_sql.testing import assert_none_left, checked_out


@pytest.fixture(autouse=True)
def _fresh_settings(fresh_settings: None) -> None:
    """Every test on the default settings (`jobframe.testing`'s ``fresh_settings``)."""


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def sql_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A database URL with the jobframe tables, on each supported database in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/jobs.sqlite3"
        yield from _with_tables(url)
    else:
        with scratch_database(request.param) as url:
            yield from _with_tables(url)


def _with_tables(url: str) -> Iterator[str]:
    from jobframe_sql.engine import create_engine

    engine = create_engine(url)
    db.init(engine)
    engine.dispose()
    yield url


@pytest.fixture
def adapter(sql_url: str) -> Iterator[SQLAdapter]:
    adapter = SQLAdapter(sql_url)
    with queue_adapters.override(adapter):
        yield adapter
    left = checked_out(adapter)
    adapter.shutdown()
    assert_none_left(left + checked_out(adapter))


__all__ = ["metadata"]
