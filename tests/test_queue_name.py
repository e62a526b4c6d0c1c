"""Queue names: ``queue_as`` (a name or a callable of the job), the default, the prefix, ``set``."""

from __future__ import annotations

from typing import Any

import pytest
from fixture_jobs.abstract_job import ConcreteJob
from fixture_jobs.hello_job import HelloJob

import jobframe
from jobframe import registry
from jobframe.testing import JobsHelper


class MailerJob(jobframe.Job):
    queue_as = "mailers"

    def perform(self) -> None:
        pass


class RoutedJob(jobframe.Job):
    queue_as = staticmethod(lambda job: "urgent" if job.args[0] > 10 else "low")

    def perform(self, amount: int) -> None:
        pass


class OverriddenMailerJob(MailerJob):
    queue_as = "overridden"


def test_default_queue(jobs: JobsHelper) -> None:
    assert HelloJob.perform_later().queue_name == "default"
    jobs.assert_enqueued_with(job=HelloJob, queue="default")


def test_default_queue_comes_from_settings() -> None:
    jobframe.configure(default_queue="background")
    assert HelloJob().queue_name == "background"


def test_queue_as_string(jobs: JobsHelper) -> None:
    assert MailerJob.perform_later().queue_name == "mailers"
    jobs.assert_enqueued_with(job=MailerJob, queue="mailers")


def test_queue_as_is_inherited_and_overridable() -> None:
    assert ConcreteJob().queue_name == "application"
    assert OverriddenMailerJob().queue_name == "overridden"
    assert MailerJob().queue_name == "mailers"


def test_queue_as_callable_sees_the_job_arguments(jobs: JobsHelper) -> None:
    RoutedJob.perform_later(50)
    RoutedJob.perform_later(5)
    assert [r.queue for r in jobs.enqueued_jobs] == ["urgent", "low"]


def test_set_queue_overrides_queue_as(jobs: JobsHelper) -> None:
    job = MailerJob.set(queue="critical").perform_later()
    assert job.queue_name == "critical"
    jobs.assert_enqueued_with(job=MailerJob, queue="critical")
    assert MailerJob().queue_name == "mailers"


def test_set_on_an_instance(jobs: JobsHelper) -> None:
    job = MailerJob().set(queue="critical")
    assert job.queue_name == "critical"
    job.enqueue()
    jobs.assert_enqueued_with(queue="critical")


def test_enqueue_with_queue_option(jobs: JobsHelper) -> None:
    MailerJob().enqueue(queue="later")
    jobs.assert_enqueued_with(job=MailerJob, queue="later")


def test_prefix_from_settings(jobs: JobsHelper) -> None:
    jobframe.configure(queue_name_prefix="prod")
    assert MailerJob.perform_later().queue_name == "prod_mailers"
    assert HelloJob.perform_later().queue_name == "prod_default"
    assert MailerJob.set(queue="urgent").perform_later().queue_name == "prod_urgent"
    assert [r.queue for r in jobs.enqueued_jobs] == ["prod_mailers", "prod_default", "prod_urgent"]


def test_prefix_with_custom_delimiter_is_applied_once() -> None:
    jobframe.configure(queue_name_prefix="staging", queue_name_delimiter=".")
    assert MailerJob().queue_name == "staging.mailers"
    assert MailerJob.set(queue="staging.low").perform_now() is None
    assert MailerJob().set(queue="staging.low").queue_name == "staging.low"


@pytest.mark.parametrize("queue", ["", "   ", 5, b"bytes", ["q"]])
def test_invalid_set_queue_fails_at_the_call_site(jobs: JobsHelper, queue: Any) -> None:
    with pytest.raises(jobframe.InvalidOptionError, match="queue"):
        MailerJob.set(queue=queue)
    with pytest.raises(jobframe.InvalidOptionError, match="queue"):
        MailerJob().enqueue(queue=queue)
    jobs.assert_no_enqueued_jobs()


@pytest.mark.parametrize("spec", ["", 42, staticmethod(lambda job: 7)])
def test_invalid_queue_as_fails_at_perform_later(
    jobs: JobsHelper, spec: Any, request: pytest.FixtureRequest
) -> None:
    class BadQueueJob(jobframe.Job):
        queue_as = spec

        def perform(self) -> None:
            pass

    request.addfinalizer(lambda: registry.unregister(BadQueueJob))

    with pytest.raises(jobframe.InvalidOptionError, match=r"BadQueueJob\.queue_as"):
        BadQueueJob.perform_later()
    jobs.assert_no_enqueued_jobs()


def test_callable_returning_none_means_the_default_queue(request: pytest.FixtureRequest) -> None:
    class NoneQueueJob(jobframe.Job):
        queue_as = staticmethod(lambda job: None)

        def perform(self) -> None:
            pass

    request.addfinalizer(lambda: registry.unregister(NoneQueueJob))
    assert NoneQueueJob().queue_name == "default"


def test_unknown_set_option_is_rejected() -> None:
    with pytest.raises(jobframe.InvalidOptionError, match="queue_name"):
        MailerJob.set(queue_name="x")
