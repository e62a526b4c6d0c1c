"""Recurring tasks: ``@jobframe.recurring`` and ``[tool.jobframe.recurring.NAME]`` (per
environment too), the start-up errors that name the task, ``jobs.recurring`` and ``jobs.tick``,
``recurring_task`` in the payload, and the log line of a recurring enqueue."""

from __future__ import annotations

import logging
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fixture_jobs.hello_job import HelloJob
from fixture_jobs.kwargs_job import KwargsJob

import jobframe
from jobframe import config
from jobframe.recurrence import forget, tasks
from jobframe.testing import JobsHelper

MONDAY_8 = datetime(2026, 1, 5, 8, tzinfo=UTC)  # 2026-01-05 is a Monday


def write_pyproject(folder: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pyproject.toml with ``body`` under [tool.jobframe] in ``folder``, the current directory."""
    path = folder / "pyproject.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    monkeypatch.chdir(folder)
    config.reset()
    return path


def names() -> list[str]:
    return [task.name for task in tasks()]


# --- declaring ---------------------------------------------------------------------------------


def test_the_decorator_declares_a_checked_task_and_returns_the_class() -> None:
    decorated = jobframe.recurring(
        "0 3 * * *", name="nightly", args=("Ann",), queue="low", priority=5,
        timezone="Europe/Berlin", catch_up="none",
    )(HelloJob)  # fmt: skip
    assert decorated is HelloJob
    [task] = tasks()
    assert (task.name, task.job_class, task.args, task.queue, task.priority) == (
        "nightly", HelloJob, ("Ann",), "low", 5,
    )  # fmt: skip
    assert (task.timezone, task.catch_up, task.schedule.text) == (
        "Europe/Berlin",
        "none",
        "0 3 * * *",
    )
    assert "@jobframe.recurring on fixture_jobs.hello_job.HelloJob" in task.source


def test_the_default_name_is_the_jobs_registered_name() -> None:
    jobframe.recurring("@daily")(HelloJob)
    assert names() == [HelloJob.job_class_name()]


def test_a_class_may_have_several_schedules_under_several_names() -> None:
    jobframe.recurring("@daily", name="daily-hello")(HelloJob)
    jobframe.recurring("@hourly", name="hourly-hello", args=("Bo",))(HelloJob)
    assert names() == ["daily-hello", "hourly-hello"]


def test_forget_drops_one_task_or_all() -> None:
    jobframe.recurring("@daily", name="a")(HelloJob)
    jobframe.recurring("@daily", name="b")(HelloJob)
    forget("a")
    assert names() == ["b"]
    forget()
    assert names() == []


def test_configuration_declares_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_pyproject(tmp_path, """
        [tool.jobframe]
        adapter = "test"
        [tool.jobframe.recurring.weekly-report]
        job = "fixture_jobs.kwargs_job:KwargsJob"
        schedule = "0 8 * * mon"
        args = ["weekly"]
        kwargs = { flag = true }
        queue = "reports"
        priority = 3
        timezone = "Europe/Berlin"
        catch_up = "none"
    """, monkeypatch)  # fmt: skip
    [task] = tasks()
    assert (task.name, task.job_class, task.args, dict(task.kwargs)) == (
        "weekly-report", KwargsJob, ("weekly",), {"flag": True},
    )  # fmt: skip
    assert task.schedule.text == "0 8 * * mon"
    assert (task.queue, task.priority, task.timezone, task.catch_up) == (
        "reports", 3, "Europe/Berlin", "none",
    )  # fmt: skip
    assert task.source == str(tmp_path / "pyproject.toml")


def test_configure_in_code_declares_tasks() -> None:
    jobframe.configure(
        recurring={
            "tick-tock": {"job": "fixture_jobs.hello_job:HelloJob", "schedule": "every minute"}
        }
    )
    [task] = tasks()
    assert (task.name, task.job_class, task.schedule.interval) == ("tick-tock", HelloJob, 60)


def test_an_environment_adds_tasks_and_replaces_them_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(tmp_path, """
        [tool.jobframe]
        adapter = "test"
        [tool.jobframe.recurring.cleanup]
        job = "fixture_jobs.hello_job:HelloJob"
        schedule = "0 3 * * *"
        [tool.jobframe.recurring.report]
        job = "fixture_jobs.hello_job:HelloJob"
        schedule = "0 8 * * mon"
        [tool.jobframe.environments.production.recurring.cleanup]
        job = "fixture_jobs.hello_job:HelloJob"
        schedule = "0 4 * * *"
        timezone = "Europe/Berlin"
        [tool.jobframe.environments.production.recurring.audit]
        job = "fixture_jobs.hello_job:HelloJob"
        schedule = "@hourly"
    """, monkeypatch)  # fmt: skip
    development = {task.name: task.schedule.text for task in tasks()}
    assert development == {"cleanup": "0 3 * * *", "report": "0 8 * * mon"}

    monkeypatch.setenv("JOBFRAME_ENV", "production")
    config.reset()
    production = {task.name: task for task in tasks()}
    assert {name: t.schedule.text for name, t in production.items()} == {
        "audit": "@hourly", "cleanup": "0 4 * * *", "report": "0 8 * * mon",
    }  # fmt: skip
    assert production["cleanup"].timezone == "Europe/Berlin"
    assert "[tool.jobframe.environments.production]" in production["cleanup"].source
    assert "environments" not in production["report"].source


def test_configuration_wins_over_a_decorator_of_the_same_name() -> None:
    jobframe.recurring("0 3 * * *", name="cleanup")(HelloJob)
    jobframe.recurring("@hourly", name="other")(HelloJob)
    jobframe.configure(
        recurring={
            "cleanup": {
                "job": "fixture_jobs.kwargs_job:KwargsJob",
                "schedule": "0 5 * * *",
                "args": [1],
            }
        }
    )
    found = {task.name: task for task in tasks()}
    assert sorted(found) == ["cleanup", "other"]
    assert (found["cleanup"].job_class, found["cleanup"].schedule.text) == (KwargsJob, "0 5 * * *")


# --- errors at start-up, each naming the task --------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"schedule": "0 25 * * *"}, r"recurring task 'bad' .*is not a valid schedule"),
        ({"timezone": "Mars/Olympus"}, r"recurring task 'bad' .*unknown time zone 'Mars/Olympus'"),
        ({"args": ("Ann", "Bo")}, r"recurring task 'bad' .*too many positional arguments"),
        ({"kwargs": {"nope": 1}}, r"recurring task 'bad' .*unexpected keyword argument 'nope'"),
        ({"args": (object(),)}, r"recurring task 'bad' .*object"),
        ({"catch_up": "all"}, r"recurring task 'bad' .*catch_up must be 'last' .* or 'none'"),
        ({"queue": 5}, r"recurring task 'bad' .*queue"),
        ({"name": "two words"}, r"recurring task 'two words'.*1-128 ASCII letters"),
        ({"args": "Ann"}, r"recurring task 'bad' .*args must be a list"),
    ],
)
def test_a_bad_decorated_task_fails_when_declared(options: dict[str, object], message: str) -> None:
    schedule = str(options.pop("schedule", "@daily"))
    options.setdefault("name", "bad")
    with pytest.raises(jobframe.ConfigurationError, match=message):
        jobframe.recurring(schedule, **options)(HelloJob)  # type: ignore[arg-type]
    assert names() == []


def test_a_name_declared_by_two_classes_is_refused() -> None:
    jobframe.recurring("@daily", name="report")(HelloJob)
    with pytest.raises(jobframe.ConfigurationError) as caught:
        jobframe.recurring("@hourly", name="report", args=(1,))(KwargsJob)
    message = str(caught.value)
    assert "recurring task 'report'" in message
    assert (
        "is already declared by @jobframe.recurring on fixture_jobs.hello_job.HelloJob" in message
    )
    assert "give one of them another name=" in message
    assert [task.job_class for task in tasks()] == [HelloJob]


GOOD = {"job": "fixture_jobs.hello_job:HelloJob", "schedule": "@daily"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({**GOOD, "schedule": "every fortnight"}, "is not a valid schedule"),
        ({**GOOD, "timezone": "Europe/Berln"}, "unknown time zone 'Europe/Berln'"),
        ({**GOOD, "job": "fixture_jobs.nowhere:HelloJob"}, "cannot import 'fixture_jobs.nowhere'"),
        ({**GOOD, "job": "fixture_jobs.hello_job.HelloJob"}, "job must be 'module:Class'"),
        (
            {**GOOD, "job": "fixture_jobs.hello_job:Nope"},
            "'fixture_jobs.hello_job:Nope' is not a job class",
        ),
        ({**GOOD, "job": "fixture_jobs:buffer"}, "'fixture_jobs:buffer' is not a job class"),
        ({**GOOD, "args": [1, 2]}, "too many positional arguments"),
        ({**GOOD, "kwargs": {"greeting": "hi"}}, "unexpected keyword argument 'greeting'"),
        ({**GOOD, "every": "day"}, r"unknown key\(s\) every; known: job, schedule"),
        ({**GOOD, "catch_up": "all"}, "catch_up must be 'last'"),
        ({"job": GOOD["job"]}, "needs job = 'module:Class' and schedule"),
        ({"schedule": "@daily"}, "needs job = 'module:Class' and schedule"),
    ],
)
def test_a_bad_configured_task_fails_at_start_up_naming_it_and_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: dict[str, object], message: str
) -> None:
    lines = "\n".join(f"{key} = {_toml(value)}" for key, value in table.items())
    path = write_pyproject(
        tmp_path,
        f'[tool.jobframe]\nadapter = "test"\n[tool.jobframe.recurring.nightly]\n{lines}\n',
        monkeypatch,
    )  # fmt: skip
    with pytest.raises(jobframe.ConfigurationError, match=message) as caught:
        tasks()
    assert f"recurring task 'nightly' ({path})" in str(caught.value)


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


def test_unserializable_configured_args_name_the_task() -> None:
    jobframe.configure(recurring={"nightly": {**GOOD, "args": [object()]}})
    wanted = r"recurring task 'nightly'.*args\[0\]: cannot serialize an object of type"
    with pytest.raises(jobframe.ConfigurationError, match=wanted):
        tasks()


def test_a_task_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.jobframe.recurring]\nnightly = "@daily"\n', encoding="utf-8")
    with pytest.raises(jobframe.ConfigurationError) as caught:
        config.load(start=tmp_path, environ={})
    assert f"'recurring' in {path}" in str(caught.value)
    assert "a table of tables, one per task: [tool.jobframe.recurring.NAME]" in str(caught.value)


# --- jobs.recurring and jobs.tick --------------------------------------------------------------


def test_jobs_recurring_lists_declared_and_configured_tasks(jobs: JobsHelper) -> None:
    jobframe.recurring("@daily", name="declared")(HelloJob)
    jobframe.configure(recurring={"configured": GOOD})
    assert [task.name for task in jobs.recurring] == ["configured", "declared"]


def test_tick_at_a_due_instant_enqueues_the_job_with_its_task_and_tick(jobs: JobsHelper) -> None:
    jobframe.recurring("0 8 * * mon", name="weekly", args=("Ann",), queue="reports")(HelloJob)
    [job] = jobs.tick(at=MONDAY_8)
    assert (job.recurring_task, job.scheduled_at, job.args) == ("weekly", MONDAY_8, ("Ann",))
    jobs.assert_enqueued_with(job=HelloJob, args=("Ann",), queue="reports")
    [record] = jobs.enqueued_jobs
    assert record.payload["recurring_task"] == "weekly"
    assert datetime.fromisoformat(record.payload["scheduled_at"]) == MONDAY_8
    assert jobs.perform_enqueued_jobs() == 1


def test_tick_at_an_instant_that_is_not_due_enqueues_nothing(jobs: JobsHelper) -> None:
    jobframe.recurring("0 8 * * mon", name="weekly")(HelloJob)
    for instant in (MONDAY_8 - timedelta(seconds=1), MONDAY_8 + timedelta(seconds=1),
                    MONDAY_8 + timedelta(days=1)):  # fmt: skip
        assert jobs.tick(at=instant) == []
    jobs.assert_no_enqueued_jobs()


def test_tick_twice_at_the_same_instant_enqueues_once(jobs: JobsHelper) -> None:
    jobframe.recurring("0 8 * * mon", name="weekly")(HelloJob)
    assert len(jobs.tick(at=MONDAY_8)) == 1
    assert jobs.tick(at=MONDAY_8) == []
    assert jobs.tick(at=MONDAY_8.replace(microsecond=300_000)) == []  # the same second
    jobs.assert_enqueued_jobs(1)
    assert len(jobs.tick(at=MONDAY_8 + timedelta(days=7))) == 1


def test_tick_enqueues_only_the_tasks_due_then(jobs: JobsHelper) -> None:
    jobframe.recurring("@hourly", name="hourly")(HelloJob)
    jobframe.recurring("0 8 * * *", name="daily", args=(1,))(KwargsJob)
    jobframe.recurring("30 8 * * *", name="later", args=(2,))(KwargsJob)
    assert sorted(job.recurring_task or "" for job in jobs.tick(at=MONDAY_8)) == ["daily", "hourly"]


def test_tick_reads_the_time_in_the_tasks_zone(jobs: JobsHelper) -> None:
    jobframe.recurring("0 8 * * mon", name="berlin", timezone="Europe/Berlin")(HelloJob)
    assert jobs.tick(at=MONDAY_8) == []  # 09:00 in Berlin
    [job] = jobs.tick(at=MONDAY_8 - timedelta(hours=1))
    assert job.scheduled_at == datetime(2026, 1, 5, 7, tzinfo=UTC)


def test_tick_needs_an_aware_datetime(jobs: JobsHelper) -> None:
    with pytest.raises(TypeError, match="aware datetime"):
        jobs.tick(at=datetime(2026, 1, 5, 8))


# --- the payload -------------------------------------------------------------------------------


def test_the_payload_round_trips_recurring_task() -> None:
    job = HelloJob("Ann")
    job.recurring_task = "nightly"
    job.scheduled_at = MONDAY_8
    data = job.serialize()
    assert data["recurring_task"] == "nightly"
    again = jobframe.Job.deserialize(data)
    assert (again.recurring_task, again.scheduled_at) == ("nightly", MONDAY_8)


def test_a_job_of_no_task_has_no_recurring_task_key() -> None:
    data = HelloJob("Ann").serialize()
    assert "recurring_task" not in data
    assert jobframe.Job.deserialize(data).recurring_task is None


@pytest.mark.parametrize("value", [5, ["nightly"], {"name": "nightly"}, True])
def test_a_recurring_task_that_is_not_a_string_is_a_deserialization_error(value: object) -> None:
    data = HelloJob("Ann").serialize()
    data["recurring_task"] = value
    with pytest.raises(jobframe.DeserializationError, match="'recurring_task' must be a string"):
        jobframe.Job.deserialize(data)


# --- logging -----------------------------------------------------------------------------------


def test_the_log_line_of_a_recurring_enqueue_names_the_task_and_tick(
    jobs: JobsHelper, caplog: pytest.LogCaptureFixture
) -> None:
    jobframe.recurring("0 8 * * mon", name="weekly-report")(HelloJob)
    with caplog.at_level(logging.INFO, logger="jobframe"):
        [job] = jobs.tick(at=MONDAY_8)
    [line] = [r.getMessage() for r in caplog.records if "recurring task" in r.getMessage()]
    assert f"Enqueued HelloJob (Job ID: {job.job_id}) of recurring task 'weekly-report'" in line
    assert "for the tick at 2026-01-05T08:00:00+00:00" in line
