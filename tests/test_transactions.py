"""Enqueue after commit: jobs wait for the app's SQLAlchemy session to commit (SQLite)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

import jobframe
from jobframe import queue_adapters, transactions
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.helpers import JobsHelper


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "tx_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


seen: list[int] = []
seen_lock = threading.Lock()


class WelcomeJob(jobframe.Job):
    def perform(self, user_id: int) -> None:
        with seen_lock:
            seen.append(user_id)


class AlwaysNowJob(jobframe.Job):
    enqueue_after_commit = False

    def perform(self, user_id: int) -> None:
        pass


class AlwaysAfterCommitJob(jobframe.Job):
    enqueue_after_commit = True

    def perform(self, user_id: int) -> None:
        pass


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/app.sqlite3")
    Base.metadata.create_all(engine)
    yield sessionmaker(engine)
    engine.dispose()


def _ids(jobs: JobsHelper) -> list[Any]:
    return [record.args[0] for record in jobs.enqueued_jobs]


def test_jobs_wait_for_commit(jobs: JobsHelper, factory: sessionmaker[Session]) -> None:
    with factory() as session, jobframe.after_commit(session):
        session.add(User(id=1, name="ann"))
        job = WelcomeJob.perform_later(1)
        assert job.successfully_enqueued is False and job.provider_job_id is None
        assert jobs.enqueued_jobs == [], "held until the commit"
        session.commit()
        assert _ids(jobs) == [1] and job.successfully_enqueued is True
        # The block is still active: the next transaction holds again.
        session.add(User(id=2, name="bob"))
        WelcomeJob.perform_later(2)
        assert _ids(jobs) == [1]
        session.commit()
    assert _ids(jobs) == [1, 2]


def test_rollback_and_close_drop_held_jobs(
    jobs: JobsHelper, factory: sessionmaker[Session]
) -> None:
    with factory() as session, jobframe.after_commit(session):
        session.add(User(id=1, name="ann"))
        WelcomeJob.perform_later(1)
        session.rollback()
        session.add(User(id=2, name="bob"))
        WelcomeJob.perform_later(2)
    # closed without commit (the `with` closes it): dropped too
    assert jobs.enqueued_jobs == []
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_failed_commit_drops_held_jobs(jobs: JobsHelper, factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        session.add(User(id=1, name="ann"))
    with factory() as session, jobframe.after_commit(session):
        session.add(User(id=1, name="duplicate"))
        WelcomeJob.perform_later(1)
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
    assert jobs.enqueued_jobs == []


def test_bulk_waits_for_commit_and_is_one_batch(
    jobs: JobsHelper, factory: sessionmaker[Session]
) -> None:
    with factory.begin() as session, jobframe.after_commit(session):
        session.add(User(id=1, name="ann"))
        assert jobframe.perform_all_later([WelcomeJob(n) for n in range(3)]) == 0
        assert jobs.enqueued_jobs == []
    assert _ids(jobs) == [0, 1, 2]
    with factory() as session, jobframe.after_commit(session):
        session.add(User(id=2, name="bob"))
        jobframe.perform_all_later([WelcomeJob(n) for n in range(3)])
        session.rollback()
    assert _ids(jobs) == [0, 1, 2]


def test_bad_arguments_fail_at_the_call(jobs: JobsHelper, factory: sessionmaker[Session]) -> None:
    with factory() as session, jobframe.after_commit(session):
        session.add(User(id=1, name="ann"))
        with pytest.raises(jobframe.SerializationError):
            WelcomeJob.perform_later(object())
        with pytest.raises(TypeError):
            WelcomeJob.perform_later(1, 2)
        with pytest.raises(jobframe.SerializationError):
            jobframe.perform_all_later([WelcomeJob(1), WelcomeJob(object())])
        session.commit()
    assert jobs.enqueued_jobs == []


def test_savepoints(jobs: JobsHelper, factory: sessionmaker[Session]) -> None:
    with factory() as session, jobframe.after_commit(session):
        session.add(User(id=1, name="ann"))
        WelcomeJob.perform_later(1)
        with session.begin_nested():
            WelcomeJob.perform_later(2)  # released: rides with the outer transaction
        nested = session.begin_nested()
        WelcomeJob.perform_later(3)
        nested.rollback()  # dropped with its savepoint
        assert jobs.enqueued_jobs == []
        session.commit()
    assert _ids(jobs) == [1, 2]


def test_no_transaction_enqueues_at_once(jobs: JobsHelper, factory: sessionmaker[Session]) -> None:
    with factory() as session, jobframe.after_commit(session):
        assert not session.in_transaction()
        WelcomeJob.perform_later(1)
        assert _ids(jobs) == [1]


def test_class_opt_out_and_outside_the_block(
    jobs: JobsHelper, factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        session.add(User(id=1, name="ann"))
        with jobframe.after_commit(session):
            AlwaysNowJob.perform_later(1)
        WelcomeJob.perform_later(2)  # after the block: not held
        assert _ids(jobs) == [1, 2]
        session.commit()
    assert _ids(jobs) == [1, 2]


def test_watched_factory_follows_the_setting(
    jobs: JobsHelper, factory: sessionmaker[Session]
) -> None:
    transactions.watch(factory)
    with factory() as session:
        session.add(User(id=1, name="ann"))
        WelcomeJob.perform_later(1)  # setting off: at once
        AlwaysAfterCommitJob.perform_later(2)  # the class asks to wait
        assert _ids(jobs) == [1]
        session.commit()
    assert _ids(jobs) == [1, 2]
    jobframe.configure(enqueue_after_commit=True)
    with factory() as session:
        session.add(User(id=3, name="cy"))
        WelcomeJob.perform_later(3)
        AlwaysNowJob.perform_later(4)
        assert _ids(jobs) == [1, 2, 4]
        session.commit()
        assert _ids(jobs) == [1, 2, 4, 3]
        session.add(User(id=5, name="di"))
        WelcomeJob.perform_later(5)
        session.rollback()
    WelcomeJob.perform_later(6)  # no session in a transaction: at once
    assert _ids(jobs) == [1, 2, 4, 3, 6]


def test_not_a_session_is_a_configuration_error() -> None:
    scope = jobframe.after_commit(object())
    with pytest.raises(jobframe.ConfigurationError, match="SQLAlchemy Session"):
        scope.__enter__()


def test_async_adapter_runs_jobs_only_after_commit(factory: sessionmaker[Session]) -> None:
    adapter = AsyncAdapter(concurrency=2)
    seen.clear()
    try:
        with queue_adapters.override(adapter):
            with factory() as session, jobframe.after_commit(session):
                session.add(User(id=1, name="ann"))
                one = WelcomeJob.perform_later(1)
                jobframe.perform_all_later([WelcomeJob(2), WelcomeJob(3)])
                assert adapter.wait_idle(5)
                assert seen == [] and not one.successfully_enqueued
                session.commit()
                session.add(User(id=4, name="bob"))
                WelcomeJob.perform_later(4)
                session.rollback()
            assert adapter.wait_idle(10)
    finally:
        adapter.shutdown(timeout=5)
    assert sorted(seen) == [1, 2, 3] and one.successfully_enqueued
