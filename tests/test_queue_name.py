"""Queue names: ``queue_as`` (a name or a callable of the job), the default, the prefix, ``set``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fixture_jobs.abstract_job import ConcreteJob
from fixture_jobs.hello_job import HelloJob
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize(
    "queue",
    ["", "   ", 5, b"bytes", ["q"], "reports/daily", "a b", "nul\x00", "é", "q" * 129, "a|b"],
)
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


@pytest.mark.parametrize("name", ["a", "mailers", "Reports.daily", "ns:low-2", "x_y", "q" * 128])
def test_names_that_follow_the_rule_are_accepted(jobs: JobsHelper, name: str) -> None:
    assert MailerJob.set(queue=name).perform_later().queue_name == name


def test_a_bad_queue_name_says_the_rule_and_suggests_a_fix() -> None:
    with pytest.raises(jobframe.InvalidOptionError) as info:
        MailerJob.set(queue="reports/daily")
    message = str(info.value)
    assert "'reports/daily'" in message
    assert "1-128 characters of ASCII letters, digits and _ - . :" in message
    assert "'reports.daily'" in message


def test_a_huge_queue_name_is_shown_shortened() -> None:
    with pytest.raises(jobframe.InvalidOptionError) as info:
        MailerJob.set(queue="x" * 10_000)
    assert len(str(info.value)) < 400


def test_retry_on_queue_follows_the_rule() -> None:
    with pytest.raises(jobframe.InvalidOptionError, match=r"retry_on\(queue=\).*'a/b'"):
        jobframe.retry_on(ValueError, queue="a/b")


def test_a_prefixed_name_longer_than_the_rule_allows_is_refused(jobs: JobsHelper) -> None:
    jobframe.configure(queue_name_prefix="p" * 100)
    with pytest.raises(jobframe.InvalidOptionError, match=r"queue_name_prefix.*shorter"):
        MailerJob.set(queue="q" * 30).perform_later()
    jobs.assert_no_enqueued_jobs()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("queue_name_prefix", "prod/eu"),
        ("queue_name_delimiter", "/"),
        ("queue_name_delimiter", " "),
        ("default_queue", "my queue"),
        ("default_queue", ""),
    ],
)
def test_queue_settings_follow_the_rule(key: str, value: str) -> None:
    with pytest.raises(jobframe.ConfigurationError, match=key):
        jobframe.configure(**{key: value})


def test_the_config_check_and_the_job_layer_share_one_rule() -> None:
    from jobframe.job.queue_name import is_queue_name

    for name in ["ok", "a/b", "", "q" * 128, "q" * 129, "a:b", "é"]:
        try:
            jobframe.configure(default_queue=name)
            accepted = True
        except jobframe.ConfigurationError:
            accepted = False
        assert accepted == is_queue_name(name), name


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_accepted_or_refused_with_a_name_that_would_do(name: str) -> None:
    from jobframe.job.queue_name import is_queue_name, validate_queue_name

    try:
        assert validate_queue_name(name, "q") == name
    except jobframe.InvalidOptionError as exc:
        assert not is_queue_name(name)
        suggested = re.search(r"Use e\.g\. '(.*)' instead\.$", str(exc))
        assert suggested is None or is_queue_name(suggested.group(1))
    else:
        assert 1 <= len(name) <= 128 and name.isascii()
