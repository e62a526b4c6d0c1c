"""``enqueue_after_commit`` on Django's ``transaction.on_commit``, on the real PostgreSQL
database: jobs wait for the outermost ``atomic()`` to commit, in order, and a rollback (of the
whole transaction or of a savepoint) drops the jobs enqueued inside it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

import jobframe
from jobframe.testing import JobsHelper


class NotifyJob(jobframe.Job):
    def perform(self, name: str) -> None:
        pass


class NeverWaitsJob(jobframe.Job):
    enqueue_after_commit = False

    def perform(self, name: str) -> None:
        pass


class AlwaysWaitsJob(jobframe.Job):
    enqueue_after_commit = True

    def perform(self, name: str) -> None:
        pass


class Rollback(Exception):
    pass


@pytest.fixture
def after_commit(django_tables: None) -> Iterator[None]:
    """The ``enqueue_after_commit`` setting on, from ``settings.JOBFRAME``."""
    with override_settings(JOBFRAME={"adapter": "test", "enqueue_after_commit": True}):
        yield


def _names(jobs: JobsHelper) -> list[Any]:
    return [record.args[0] for record in jobs.enqueued_jobs]


@pytest.mark.usefixtures("after_commit")
def test_jobs_wait_for_the_commit_and_keep_their_order(jobs: JobsHelper) -> None:
    from django_testapp.models import Customer

    with transaction.atomic():
        Customer.objects.create(name="ann")
        first = NotifyJob.perform_later("ann")
        NotifyJob.perform_later("bob")
        assert first.successfully_enqueued is False and first.provider_job_id is None
        assert jobs.enqueued_jobs == [], "held until the commit"
    assert _names(jobs) == ["ann", "bob"]
    assert first.successfully_enqueued is True


@pytest.mark.usefixtures("after_commit")
def test_a_rollback_enqueues_nothing(jobs: JobsHelper) -> None:
    from django_testapp.models import Customer

    with pytest.raises(Rollback), transaction.atomic():
        Customer.objects.create(name="ann")
        NotifyJob.perform_later("ann")
        jobframe.perform_all_later([NotifyJob("bulk-1"), NotifyJob("bulk-2")])
        raise Rollback
    assert not Customer.objects.exists()
    jobs.assert_no_enqueued_jobs()


@pytest.mark.usefixtures("after_commit")
def test_a_savepoint_rollback_drops_only_its_own_jobs(jobs: JobsHelper) -> None:
    with transaction.atomic():
        NotifyJob.perform_later("outer-1")
        with pytest.raises(Rollback), transaction.atomic():
            NotifyJob.perform_later("inner-dropped")
            raise Rollback
        with transaction.atomic():
            NotifyJob.perform_later("inner-kept")
        NotifyJob.perform_later("outer-2")
        assert jobs.enqueued_jobs == []
    assert _names(jobs) == ["outer-1", "inner-kept", "outer-2"]


@pytest.mark.usefixtures("after_commit")
def test_perform_all_later_is_held_and_enqueued_as_one_batch(jobs: JobsHelper) -> None:
    batches: list[int] = []
    stop = jobframe.subscribe(
        "enqueue_all", lambda event: batches.append(len(event.payload["jobs"]))
    )
    try:
        with transaction.atomic():
            count = jobframe.perform_all_later([NotifyJob("a"), NotifyJob("b"), NotifyJob("c")])
            assert count == 0 and jobs.enqueued_jobs == []
    finally:
        stop()
    assert _names(jobs) == ["a", "b", "c"]
    assert batches == [3]


@pytest.mark.usefixtures("after_commit")
def test_a_bad_argument_fails_at_perform_later_not_at_commit(jobs: JobsHelper) -> None:
    with transaction.atomic():
        with pytest.raises(jobframe.SerializationError):
            NotifyJob.perform_later(object())
        with pytest.raises(TypeError):
            NotifyJob.perform_later()
        NotifyJob.perform_later("fine")
    assert _names(jobs) == ["fine"]


@pytest.mark.usefixtures("after_commit")
def test_outside_atomic_jobs_are_enqueued_at_once(jobs: JobsHelper) -> None:
    NotifyJob.perform_later("now")
    assert _names(jobs) == ["now"]


@pytest.mark.usefixtures("django_tables")
def test_the_class_flag_wins_over_the_setting(jobs: JobsHelper) -> None:
    with override_settings(JOBFRAME={"adapter": "test"}):  # setting off
        with transaction.atomic():
            AlwaysWaitsJob.perform_later("waits")
            NotifyJob.perform_later("setting-off")
            assert _names(jobs) == ["setting-off"]
        assert _names(jobs) == ["setting-off", "waits"]
    jobs.clear_enqueued_jobs()
    with override_settings(JOBFRAME={"adapter": "test", "enqueue_after_commit": True}):
        with pytest.raises(Rollback), transaction.atomic():
            NeverWaitsJob.perform_later("at-once")
            NotifyJob.perform_later("dropped")
            raise Rollback
        assert _names(jobs) == ["at-once"]


@pytest.mark.usefixtures("after_commit")
def test_a_job_can_wait_for_another_database(jobs: JobsHelper) -> None:
    class OtherDatabaseJob(jobframe.Job):
        enqueue_after_commit_using = "sqlite"

        def perform(self, name: str) -> None:
            pass

    with transaction.atomic():  # the default database: not this job's
        OtherDatabaseJob.perform_later("not-held")
    with transaction.atomic(using="sqlite"):
        OtherDatabaseJob.perform_later("held")
        NotifyJob.perform_later("default-not-in-atomic")
        assert _names(jobs) == ["not-held", "default-not-in-atomic"]
    assert _names(jobs) == ["not-held", "default-not-in-atomic", "held"]


def test_a_backend_that_fails_at_commit_raises_at_the_end_of_the_block(
    django_tables: None,
) -> None:
    from django_testapp.models import Customer

    unreachable = {"url": "redis://127.0.0.1:1/0", "prefix": "djcore-unreachable"}
    table = {"adapter": "redis", "adapter_options": unreachable, "enqueue_after_commit": True}
    with override_settings(JOBFRAME=table):
        with pytest.raises(jobframe.EnqueueError), transaction.atomic():
            Customer.objects.create(name="kept")
            job = NotifyJob.perform_later("never-written")  # held: nothing tried yet
            assert job.enqueue_error is None
        assert job.successfully_enqueued is False
    assert Customer.objects.filter(name="kept").exists(), "the commit happened first"


@pytest.mark.usefixtures("after_commit")
def test_inside_a_test_case_transaction_capture_on_commit_callbacks_enqueues(
    jobs: JobsHelper,
) -> None:
    from django.test import TestCase

    # What django.test.TestCase does around each test: a transaction that never commits.
    with pytest.raises(Rollback), transaction.atomic():
        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
            NotifyJob.perform_later("in-a-test-case")
            assert jobs.enqueued_jobs == []
        assert len(callbacks) == 1
        assert _names(jobs) == ["in-a-test-case"]
        raise Rollback
