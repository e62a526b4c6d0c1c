"""`SQLAdapter.check` and ``jobframe doctor`` on SQLite, PostgreSQL and MariaDB (issue #11, item
13): the database answers, the tables exist at this jobframe-sql's schema version, and a SQLite file
is writable and in WAL mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from jobframe.cli import main
from jobframe.testing.environment import configured
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import SCHEMA_VERSION, metadata, versions

SECRET = "hunter2-doctor-secret"


def problems_of(adapter: SQLAdapter) -> list[str]:
    return [str(problem) for problem in adapter.check()]


def doctor(url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    with configured(monkeypatch, "sql", url):
        return main(["doctor"])


def test_a_database_with_current_tables_has_no_problems(
    sql_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    adapter = SQLAdapter(sql_url)
    try:
        assert problems_of(adapter) == []
    finally:
        adapter.shutdown()
    assert doctor(sql_url, monkeypatch) == 0
    assert capsys.readouterr().out == "sql: no problems found\n"


def test_missing_tables_say_run_db_init(
    sql_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = sa.create_engine(sql_url)
    metadata.drop_all(engine)
    engine.dispose()

    assert doctor(sql_url, monkeypatch) == 1
    out = capsys.readouterr().out
    assert "the jobframe tables do not exist" in out and "fix: run `jobframe db init`" in out


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (SCHEMA_VERSION - 1, "run `jobframe db upgrade`"),
        (SCHEMA_VERSION + 1, "upgrade jobframe-sql"),
    ],
    ids=["older", "newer"],
)
def test_a_schema_at_another_version_is_reported(sql_url: str, version: int, expected: str) -> None:
    engine = sa.create_engine(sql_url)
    with engine.begin() as conn:
        conn.execute(sa.update(versions).values(version=version))
    engine.dispose()
    adapter = SQLAdapter(sql_url)
    try:
        [problem] = problems_of(adapter)
    finally:
        adapter.shutdown()
    assert f"schema version {version}" in problem and expected in problem


def test_an_unreachable_server_is_reported_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/test"

    assert doctor(url, monkeypatch) == 1
    out, err = capsys.readouterr()
    assert "cannot be reached" in out and "127.0.0.1:1" in out
    assert SECRET not in out + err and "Traceback" not in out + err


def test_a_missing_sqlite_file_is_reported_and_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "nowhere.sqlite3"

    assert doctor(f"sqlite:///{database}", monkeypatch) == 1
    out = capsys.readouterr().out
    assert f"the SQLite file {database} does not exist" in out and "jobframe db init" in out
    assert not database.exists()


def test_a_sqlite_file_not_in_wal_mode_is_reported(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    # An engine of the application's own making, without jobframe's WAL set-up.
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(versions).values(version=SCHEMA_VERSION))
        conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    adapter = SQLAdapter(engine=engine)
    try:
        [problem] = problems_of(adapter)
    finally:
        adapter.shutdown()
    assert "in journal mode 'delete', not WAL" in problem
