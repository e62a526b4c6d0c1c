"""Logging: the default subscriber names job class, id and queue, and filters arguments."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fixture_jobs.logging_job import LoggingJob, LoginJob, QuietJob
from fixture_jobs.retry_job import DefaultsError, RetryJob

import jobframe
from jobframe import registry
from jobframe.testing import JobsHelper


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="jobframe"):
        yield caplog


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "jobframe"]


def test_enqueue_is_logged_with_class_id_queue_and_arguments(
    jobs: JobsHelper, logs: pytest.LogCaptureFixture
) -> None:
    job = LoggingJob.perform_later("Ann", password="hunter2")
    (line,) = messages(logs)
    assert line.startswith("Enqueued LoggingJob")
    assert f"(Job ID: {job.job_id})" in line
    assert "queue 'logs'" in line
    assert "TestAdapter" in line
    assert "'Ann'" in line and "password='hunter2'" in line


def test_scheduled_enqueue_names_the_time(jobs: JobsHelper, logs: pytest.LogCaptureFixture) -> None:
    job = LoggingJob.set(wait=60).perform_later("Ann")
    assert job.scheduled_at is not None
    assert f" at {job.scheduled_at.isoformat()}" in messages(logs)[0]


def test_a_performed_job_is_one_line_at_info(
    jobs: JobsHelper, logs: pytest.LogCaptureFixture
) -> None:
    job = LoggingJob.perform_later("Bo")
    logs.clear()
    jobs.perform_enqueued_jobs()
    (done,) = messages(logs)
    assert done.startswith(f"Performed LoggingJob (Job ID: {job.job_id}) on queue 'logs' in ")
    assert done.endswith("ms")
    assert "Bo" not in done  # the arguments are in the enqueue line, and at DEBUG


def test_the_start_line_with_the_arguments_is_at_debug(
    jobs: JobsHelper, caplog: pytest.LogCaptureFixture
) -> None:
    job = LoggingJob.perform_later("Bo")
    with caplog.at_level(logging.DEBUG, logger="jobframe"):
        jobs.perform_enqueued_jobs()
    start, done = messages(caplog)
    assert caplog.records[0].levelno == logging.DEBUG
    assert start.startswith(f"Performing LoggingJob (Job ID: {job.job_id}) on queue 'logs'")
    assert start.endswith("with arguments: 'Bo'")
    assert done.startswith(f"Performed LoggingJob (Job ID: {job.job_id}) on queue 'logs' in ")


def test_a_job_line_names_its_own_module_not_logging(
    jobs: JobsHelper, logs: pytest.LogCaptureFixture
) -> None:
    LoggingJob.perform_later("Bo")
    logs.clear()
    jobs.perform_enqueued_jobs()
    (record,) = [r for r in logs.records if r.name == "jobframe"]
    assert record.module == "log_subscriber" and record.funcName == "on_event"
    assert record.job_class == "fixture_jobs.logging_job.LoggingJob"  # type: ignore[attr-defined]
    assert record.duration_ms >= 0  # type: ignore[attr-defined]


def test_bulk_enqueue_is_logged(jobs: JobsHelper, logs: pytest.LogCaptureFixture) -> None:
    jobframe.perform_all_later([LoggingJob("a"), LoggingJob("b")])
    assert messages(logs) == ["Enqueued 2 jobs to TestAdapter"]


def test_arguments_hidden_by_settings(jobs: JobsHelper, logs: pytest.LogCaptureFixture) -> None:
    jobframe.configure(log_arguments=False)
    LoggingJob.perform_later("Ann", password="hunter2")
    jobs.perform_enqueued_jobs()
    text = "\n".join(messages(logs))
    assert "LoggingJob" in text
    assert "Ann" not in text and "hunter2" not in text and "arguments" not in text


def test_arguments_hidden_by_the_class(jobs: JobsHelper, logs: pytest.LogCaptureFixture) -> None:
    job = QuietJob.perform_later("s3cr3t")
    jobs.perform_enqueued_jobs()
    text = "\n".join(messages(logs))
    assert job.job_id in text
    assert "s3cr3t" not in text


def test_filtered_keyword_arguments(jobs: JobsHelper, logs: pytest.LogCaptureFixture) -> None:
    jobframe.configure(filter_arguments=["password"])
    LoggingJob.perform_later("Ann", password="hunter2")
    jobs.perform_enqueued_jobs()
    text = "\n".join(messages(logs))
    assert "hunter2" not in text
    assert "password=[FILTERED]" in text
    assert "'Ann'" in text


def test_filtered_arguments_passed_by_position(
    jobs: JobsHelper, logs: pytest.LogCaptureFixture
) -> None:
    jobframe.configure(filter_arguments=["password", "rest"])
    LoginJob.perform_later("a@example.com", "hunter2", "extra")
    jobs.perform_enqueued_jobs()
    text = "\n".join(messages(logs))
    assert "hunter2" not in text and "extra" not in text
    assert "with arguments: 'a@example.com', [FILTERED], [FILTERED]" in text


def test_failures_and_retries_are_logged(jobs: JobsHelper, logs: pytest.LogCaptureFixture) -> None:
    job = RetryJob.perform_later("DefaultsError", 10)
    with pytest.raises(DefaultsError):
        jobs.perform_enqueued_jobs()
    errors = [r for r in logs.records if r.levelno == logging.ERROR]
    warnings = [r for r in logs.records if r.levelno == logging.WARNING]
    # Each failed attempt is a warning (retry_on handles it); the last one's traceback is kept.
    performs = [r for r in warnings if r.getMessage().startswith("Error performing RetryJob")]
    assert len(performs) == 5
    assert performs[0].exc_info is None
    assert errors[-1].exc_info is not None
    retrying = [m for m in messages(logs) if m.startswith("Retrying RetryJob")]
    assert len(retrying) == 4
    assert "due to a DefaultsError (failure 1)" in retrying[0]
    stopped = errors[-1].getMessage()
    assert stopped.startswith(f"Stopped retrying RetryJob (Job ID: {job.job_id})")
    assert stopped.endswith("reoccurred on 5 executions")


def test_discard_is_logged(jobs: JobsHelper, logs: pytest.LogCaptureFixture) -> None:
    RetryJob.perform_later("DiscardableError", 1)
    jobs.perform_enqueued_jobs()
    assert messages(logs)[-1].startswith("Discarded RetryJob")
    assert "due to a DiscardableError (failure 1)" in messages(logs)[-1]


def test_halted_perform_is_not_an_error(
    logs: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> None:
    class HaltedJob(jobframe.Job):
        @jobframe.before_perform
        def halt(self) -> None:
            raise jobframe.Abort("maintenance window")

        def perform(self) -> None:
            pass

    request.addfinalizer(lambda: registry.unregister(HaltedJob))
    job = HaltedJob()
    job.perform_now()
    assert not [r for r in logs.records if r.levelno >= logging.WARNING]
    assert messages(logs)[-1] == (
        f"Halted {HaltedJob.__qualname__} (Job ID: {job.job_id}) on queue 'default': "
        "a perform callback aborted it (maintenance window)"
    )


def test_nothing_logged_below_the_level(jobs: JobsHelper, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="jobframe"):
        LoggingJob.perform_later("Ann")
        jobs.perform_enqueued_jobs()
    assert messages(caplog) == []


def test_a_huge_argument_is_cut_in_the_log_line_saying_how_much(
    jobs: JobsHelper, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="jobframe"):
        LoggingJob.perform_later("x" * 10_000_000)
        jobs.perform_enqueued_jobs()
    lines = messages(caplog)
    assert len(lines) == 3  # enqueued, performing, performed
    for line in lines[:2]:
        assert line.endswith("... [9,998,978 more characters]")
        assert len(line) < 1_300
    assert "'xxx" in lines[0]


def test_several_long_arguments_are_cut_where_the_limit_falls(
    jobs: JobsHelper, logs: pytest.LogCaptureFixture
) -> None:
    jobframe.configure(log_arguments_limit=20)
    LoggingJob.perform_later("ab", password="x" * 50)
    (line,) = messages(logs)
    # the whole text would be 67 characters: 'ab', password='x...x' with 50 x
    assert line.endswith("with arguments: 'ab', password='xxxx... [47 more characters]")


def test_the_limit_is_a_setting(jobs: JobsHelper, logs: pytest.LogCaptureFixture) -> None:
    jobframe.configure(log_arguments_limit=10)
    LoggingJob.perform_later("abcdefghijklmnop", password="p")
    (line,) = messages(logs)
    assert line.endswith("with arguments: 'abcdefghi... [22 more characters]")
    with pytest.raises(jobframe.ConfigurationError, match="log_arguments_limit"):
        jobframe.configure(log_arguments_limit=-1)


def test_the_worker_cuts_its_log_lines_too(caplog: pytest.LogCaptureFixture) -> None:
    from jobframe.testing.workers import wait_until

    jobframe.configure(adapter="async", adapter_options={"concurrency": 1})
    with caplog.at_level(logging.DEBUG, logger="jobframe"):
        job = LoggingJob.perform_later("y" * 100_000)

        def performed() -> list[str]:
            return [m for m in messages(caplog) if m.startswith("Performed") and job.job_id in m]

        wait_until(performed, 10, "the job to be performed")
    starts = [m for m in messages(caplog) if m.startswith("Performing")]
    assert len(starts) == 1 and starts[0].endswith("... [98,978 more characters]")


def test_a_job_line_record_is_the_one_make_record_makes() -> None:
    """`log_subscriber.emit` copies a record rather than construct one: the same attributes
    with the same values (but the time), an ``extra`` field that would overwrite one refused
    as `Logger.makeRecord` refuses it, and an application's record factory still used."""
    from jobframe import log_subscriber

    args = ("LoggingJob", 0.25)
    made = log_subscriber._record(logging.INFO, "Performed %s in %.2fms", args, {"job_id": "j"})
    stock = log_subscriber.logger.makeRecord(
        "jobframe", logging.INFO, log_subscriber.__file__, 0, "Performed %s in %.2fms", args,
        None, "on_event", {"job_id": "j"},
    )  # fmt: skip
    timed = {"created", "msecs", "relativeCreated"}
    ours, theirs = vars(made), vars(stock)
    assert set(ours) == set(theirs) and "job_id" in ours
    assert {k: v for k, v in ours.items() if k not in timed} == {
        k: v for k, v in theirs.items() if k not in timed
    }
    assert abs(made.created - stock.created) < 5
    assert made.getMessage() == "Performed LoggingJob in 0.25ms"
    with pytest.raises(KeyError, match="overwrite 'lineno'"):
        log_subscriber._record(logging.INFO, "x", (), {"lineno": 3})

    seen: list[logging.LogRecord] = []

    class Mine(logging.LogRecord):
        pass

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler, previous = Keep(), logging.getLogRecordFactory()
    log_subscriber.logger.addHandler(handler)
    logging.setLogRecordFactory(Mine)
    try:
        log_subscriber.emit(logging.WARNING, "through %s", ("theirs",), {"job_id": "k"})
    finally:
        logging.setLogRecordFactory(previous)
        log_subscriber.logger.removeHandler(handler)
    assert [type(r) for r in seen] == [Mine] and seen[0].getMessage() == "through theirs"


def test_the_worker_text_format_is_the_stock_formatters() -> None:
    from jobframe.worker.log_handler import TEXT_FORMAT, TextFormatter

    ours, stock = TextFormatter(), logging.Formatter(TEXT_FORMAT)
    stock.formatTime = ours.formatTime  # type: ignore[method-assign]
    record = logging.makeLogRecord({"name": "jobframe", "levelno": 20, "levelname": "INFO",
                                 "msg": "Performed %s", "args": ("x",)})  # fmt: skip
    assert ours.format(record) == stock.format(record)
    assert " INFO jobframe: Performed x" in ours.format(record)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.makeLogRecord({"msg": "failed", "exc_info": sys.exc_info()})
    assert ours.format(failed) == stock.format(failed) and "ValueError: boom" in ours.format(failed)
