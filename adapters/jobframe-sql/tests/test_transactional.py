"""Transactional enqueue: jobs written through the app's own Session commit or roll back with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

import jobframe
import jobframe_sql
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import jobs as jobs_table


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "shop_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    total: Mapped[int]


class ReceiptJob(jobframe.Job):
    queue_as = "mailers"

    def perform(self, order_id: int) -> None:
        pass


@pytest.fixture
def app(sql_url: str, adapter: SQLAdapter) -> Iterator[sessionmaker[Session]]:
    """The application's own engine and session factory on the jobframe database."""
    engine = sa.create_engine(sql_url)
    Base.metadata.create_all(engine)
    yield sessionmaker(engine)
    engine.dispose()


def _rows(sql_url: str) -> list[tuple[str, str]]:
    """The job rows as another connection sees them (committed data only)."""
    engine = sa.create_engine(sql_url)
    try:
        with engine.connect() as conn:
            query = sa.select(jobs_table.c.job_id, jobs_table.c.state).order_by(jobs_table.c.seq)
            return [(r.job_id, r.state) for r in conn.execute(query)]
    finally:
        engine.dispose()


def test_commit_writes_the_job_with_the_order(sql_url: str, app: sessionmaker[Session]) -> None:
    with app() as session:
        with jobframe_sql.enqueue_in(session):
            session.add(Order(id=1, total=10))
            job = ReceiptJob.perform_later(1)
        assert job.successfully_enqueued and job.provider_job_id
        assert _rows(sql_url) == [], "not visible before the app's commit"
        session.commit()
    assert _rows(sql_url) == [(job.job_id, "ready")]
    with app() as session:
        assert session.get(Order, 1) is not None


def test_rollback_takes_the_job_with_it(sql_url: str, app: sessionmaker[Session]) -> None:
    with app() as session:
        with jobframe_sql.enqueue_in(session):
            session.add(Order(id=1, total=10))
            session.flush()
            ReceiptJob.perform_later(1)
            jobframe.perform_all_later([ReceiptJob(n) for n in range(3)])
        session.rollback()
    assert _rows(sql_url) == []
    with app() as session:
        assert session.get(Order, 1) is None


def test_bulk_inside_the_transaction(sql_url: str, app: sessionmaker[Session]) -> None:
    with app.begin() as session, jobframe_sql.enqueue_in(session):
        session.add(Order(id=1, total=10))
        batch = [ReceiptJob(n) for n in range(3)]
        assert jobframe.perform_all_later(batch) == 3
        assert _rows(sql_url) == []
    assert _rows(sql_url) == [(j.job_id, "ready") for j in batch]


def test_a_connection_works_too(sql_url: str, app: sessionmaker[Session]) -> None:
    engine = sa.create_engine(sql_url)
    try:
        with engine.connect() as conn:
            with jobframe_sql.enqueue_in(conn):
                job = ReceiptJob.perform_later(1)
            conn.rollback()
            assert _rows(sql_url) == []
            with jobframe_sql.enqueue_in(conn):
                job = ReceiptJob.perform_later(2)
            conn.commit()
    finally:
        engine.dispose()
    assert _rows(sql_url) == [(job.job_id, "ready")]


def test_outside_the_block_jobs_commit_on_their_own(
    sql_url: str, app: sessionmaker[Session]
) -> None:
    with app() as session:
        session.add(Order(id=1, total=10))
        job = ReceiptJob.perform_later(1)  # not in enqueue_in: its own transaction
        session.rollback()
    assert _rows(sql_url) == [(job.job_id, "ready")]


def test_a_different_database_is_a_configuration_error(
    sql_url: str, app: sessionmaker[Session], tmp_path: object
) -> None:
    other = sa.create_engine(f"sqlite:///{tmp_path}/other.sqlite3")
    try:
        with Session(other) as session, jobframe_sql.enqueue_in(session):
            with pytest.raises(jobframe.ConfigurationError, match="a transaction cannot span"):
                ReceiptJob.perform_later(1)
            with pytest.raises(jobframe.ConfigurationError, match="a transaction cannot span"):
                jobframe.perform_all_later([ReceiptJob(2)])
    finally:
        other.dispose()
    assert _rows(sql_url) == []


def test_not_a_session_is_a_configuration_error(adapter: SQLAdapter) -> None:
    scope = jobframe_sql.enqueue_in("postgresql://elsewhere")
    with pytest.raises(jobframe.ConfigurationError, match="Session or Connection"):
        scope.__enter__()
