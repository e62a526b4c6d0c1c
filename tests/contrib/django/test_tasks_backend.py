"""`JobframeBackend` beyond Django's own backend tests (`test_tasks_contract`): the mapping of
priorities, queues and ``run_after`` onto jobframe's, a task seen READY and RUNNING from its id,
the types jobframe's serializers carry, what is refused at enqueue, the ``supports_*`` flags
following the adapter, and options."""

from __future__ import annotations

import decimal
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from contrib.django.task_support import (
    QUEUES,
    WORKED,
    finished,
    tasks_setting,
    worker_options,
)
from django.test import override_settings
from django_testapp import tasks as test_tasks
from stores import store_adapter

from jobframe.backend.adapter import QueueAdapter
from jobframe.contrib.django.tasks import JobframeBackend
from jobframe.contrib.django.tasks_api import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    default_task_backend,
    task_backends,
)
from jobframe.errors import ConfigurationError
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.queue_adapters.inline import InlineAdapter
from jobframe.testing.workers import worker_thread


@pytest.fixture(params=["async", "redis", "sqlite"])
def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QueueAdapter]:
    """A store the default task backend enqueues onto; no worker (each test starts its own)."""
    if request.param == "async":
        made = AsyncAdapter(autostart=False)
        try:
            with override_settings(TASKS=tasks_setting(made)):
                yield made
        finally:
            made.shutdown(5.0)
        return
    with (
        store_adapter(request.param, tmp_path, label="jfdjtasks") as made,  # type: ignore[arg-type]
        override_settings(TASKS=tasks_setting(made)),
    ):
        yield made


def _worker(adapter: QueueAdapter, queues: list[str], concurrency: int = 2) -> Any:
    backend = adapter.worker_backend()
    assert backend is not None
    return worker_thread(backend, worker_options(queues, concurrency))


def test_higher_django_priority_runs_first(adapter: QueueAdapter) -> None:
    test_tasks.ORDER.clear()
    ordered = test_tasks.record_order.using(queue_name="ordered")
    for label, priority in [("low", -50), ("default", 0), ("top", 100), ("high", 10)]:
        ordered.using(priority=priority).enqueue(label)
    last = ordered.using(priority=-100).enqueue("bottom")

    with _worker(adapter, ["ordered"], concurrency=1):
        finished(last)
    assert test_tasks.ORDER == ["top", "high", "default", "low", "bottom"]


def test_priority_and_queue_reach_the_jobframe_job(adapter: QueueAdapter) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    result = test_tasks.noop_task.using(
        priority=30, queue_name="queue_1", run_after=later
    ).enqueue()
    inspector = adapter.inspector()
    assert inspector is not None
    [info] = inspector.jobs("scheduled")
    assert info.job_id == result.id.partition(".")[0]
    assert info.queue == "queue_1"
    assert info.priority == -30, "Django runs higher first, jobframe lower first"
    assert info.scheduled_at is not None and abs(info.scheduled_at - later) < timedelta(seconds=1)


def test_run_after_defers_the_task_until_its_time(adapter: QueueAdapter) -> None:
    run_after = datetime.now(UTC) + timedelta(seconds=1.5)
    result = test_tasks.calculate_meaning_of_life.using(run_after=run_after).enqueue()
    with _worker(adapter, WORKED):
        result.refresh()  # found by its stored payload: no record exists yet
        assert result.status == TaskResultStatus.READY
        assert result.task.run_after == run_after
        finished(result)
    assert result.return_value == 42
    assert result.started_at is not None and result.started_at >= run_after


def test_a_running_task_is_seen_running_from_its_id(adapter: QueueAdapter) -> None:
    test_tasks.STARTED.clear()
    test_tasks.RELEASE.clear()
    result = test_tasks.wait_for_release.enqueue()
    with _worker(adapter, WORKED):
        # (a worker shows a job running from its claim, a moment before the task starts)
        assert test_tasks.STARTED.wait(10), "the task did not start"
        result.refresh()
        assert result.status == TaskResultStatus.RUNNING
        seen = default_task_backend.get_result(result.id)
        assert seen.started_at is not None and seen.finished_at is None
        assert seen.attempts == 1
        test_tasks.RELEASE.set()
        finished(result)
    assert result.return_value == "released"


def test_arguments_and_return_values_keep_their_types(adapter: QueueAdapter) -> None:
    moment = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    values = (moment, (1, 2), decimal.Decimal("1.50"), uuid.UUID(int=7), {1: "one"})
    result = test_tasks.echo.enqueue(*values, when=moment)
    assert result.args == list(values)
    with _worker(adapter, WORKED):
        finished(result)
    assert result.return_value == {"args": values, "kwargs": {"when": moment}}
    assert result.args == list(values) and result.kwargs == {"when": moment}


def test_the_context_names_the_result_and_its_task(adapter: QueueAdapter) -> None:
    result = test_tasks.context_summary.using(priority=5, queue_name="queue_1").enqueue()
    with _worker(adapter, WORKED):
        finished(result)
    assert result.return_value == {
        "id": result.id,
        "attempt": 1,
        "status": "RUNNING",
        "backend": "default",
        "queue_name": "queue_1",
        "priority": 5,
    }


@pytest.mark.usefixtures("adapter")
def test_what_a_worker_could_not_run_is_refused_at_enqueue() -> None:
    with pytest.raises(TypeError, match=r"calculate_meaning_of_life: too many positional"):
        test_tasks.calculate_meaning_of_life.enqueue(1)  # as calling it would
    with pytest.raises(TypeError, match=r"echo: args\[1\]"):
        test_tasks.echo.enqueue(1, object())  # SerializationError, a TypeError
    with pytest.raises(InvalidTask, match=r"renamed_task|_original' is not a task"):
        test_tasks.renamed_task.enqueue()
    from contrib.django import outside_tasks

    with pytest.raises(InvalidTask, match=r"outside the installed apps.*OPTIONS\['MODULES'\]"):
        outside_tasks.outside.enqueue()


def test_modules_outside_the_apps_are_allowed_by_name(adapter: QueueAdapter) -> None:
    from contrib.django import outside_tasks

    setting = tasks_setting(adapter)
    setting["default"]["OPTIONS"]["MODULES"] = ["contrib.django.outside_tasks"]
    with override_settings(TASKS=setting), _worker(adapter, WORKED):
        assert finished(outside_tasks.outside.enqueue()).return_value == "outside"


def test_the_supports_flags_follow_the_adapter() -> None:
    with override_settings(TASKS=tasks_setting(AsyncAdapter(autostart=False))):
        backend = task_backends["default"]
        assert (backend.supports_defer, backend.supports_priority) == (True, True)
        assert backend.supports_get_result and backend.supports_async_task
    inline = InlineAdapter()
    with override_settings(TASKS=tasks_setting(inline)):
        backend = task_backends["default"]
        assert not backend.supports_defer and not backend.supports_priority
        with pytest.raises(InvalidTask, match="Backend does not support run_after"):
            test_tasks.noop_task.using(run_after=datetime.now(UTC))
        with pytest.raises(InvalidTask, match="does not support setting priority"):
            test_tasks.noop_task.using(priority=3)
        # inline runs the task in the caller: the result is final at once
        result = test_tasks.calculate_meaning_of_life.enqueue()
        assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, 42)


def test_options_are_checked() -> None:
    base = {"BACKEND": "jobframe.contrib.django.tasks.JobframeBackend", "QUEUES": QUEUES}
    with pytest.raises(ConfigurationError, match=r"unknown key.*ADAPTR"):
        JobframeBackend("default", {**base, "OPTIONS": {"ADAPTR": "redis"}})
    with pytest.raises(ConfigurationError, match="ADAPTER'] must be a jobframe adapter"):
        JobframeBackend("default", {**base, "OPTIONS": {"ADAPTER": 3}})
    built = {"ADAPTER": "async", "ADAPTER_OPTIONS": {"autostart": False}}
    one, two = (JobframeBackend(alias, {**base, "OPTIONS": built}) for alias in ("a", "b"))
    assert one.adapter() is two.adapter(), "Django makes a backend per thread: one adapter"
    assert one.adapter().name == "async" and one.adapter() is not JobframeBackend(
        "c", {**base, "OPTIONS": {"ADAPTER": "async", "ADAPTER_OPTIONS": {"concurrency": 1}}}
    ).adapter()
    backend = JobframeBackend("default", {**base, "OPTIONS": {"ADAPTER": "nope"}})
    [error] = backend.check()
    assert error.id == "jobframe.E101" and "no queue adapter named 'nope'" in error.msg


def test_the_jobs_fixture_holds_tasks_until_a_test_performs_them(jobs: Any) -> None:
    configured = {"BACKEND": "jobframe.contrib.django.tasks.JobframeBackend", "QUEUES": QUEUES}
    with override_settings(TASKS={"default": configured}):  # no ADAPTER: jobframe's own
        result = test_tasks.calculate_meaning_of_life.enqueue()
        later = test_tasks.async_echo.using(run_after=datetime.now(UTC) + timedelta(days=1))
        scheduled = later.enqueue("async")
        jobs.assert_enqueued_jobs(2, queue="default")
        result.refresh()
        assert result.status == TaskResultStatus.READY

        jobs.perform_enqueued_jobs()
        result.refresh()
        assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, 42)
        scheduled.refresh()
        assert (scheduled.status, scheduled.return_value) == (TaskResultStatus.SUCCESSFUL, "async")


def test_inline_runs_an_async_task_in_the_caller() -> None:
    with override_settings(TASKS=tasks_setting(InlineAdapter())):
        result = test_tasks.async_echo.enqueue({"a": (1, 2)})
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"a": (1, 2)}
    assert result.attempts == 1 and result.errors == []


def test_the_apps_jobs_module_registers_the_task_jobs_for_workers() -> None:
    import importlib

    from jobframe import registry

    jobs_module = importlib.import_module("jobframe.contrib.django.jobs")
    assert registry.lookup("jobframe.contrib.django.TaskJob") is jobs_module.TaskJob
    assert registry.lookup("jobframe.contrib.django.AsyncTaskJob") is jobs_module.AsyncTaskJob


def test_a_task_cancelled_before_it_ran_has_no_result(adapter: QueueAdapter) -> None:
    import jobframe

    later = datetime.now(UTC) + timedelta(hours=1)
    result = test_tasks.noop_task.using(run_after=later).enqueue()
    assert jobframe.cancel(result.id.partition(".")[0], adapter) == "cancelled"
    assert jobframe.job_status(result.id.partition(".")[0], adapter) == "cancelled"
    with pytest.raises(TaskResultDoesNotExist):
        result.refresh()



@pytest.mark.usefixtures("django_tables")
def test_a_task_uses_the_orm_in_the_worker() -> None:
    from django_testapp.models import Customer

    adapter = AsyncAdapter(autostart=False)
    try:
        with override_settings(TASKS=tasks_setting(adapter)), _worker(adapter, WORKED):
            result = finished(test_tasks.create_customer.enqueue("Ann"))
    finally:
        adapter.shutdown(5.0)
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert Customer.objects.get(pk=result.return_value).name == "Ann"


@pytest.mark.usefixtures("django_tables")
def test_a_model_reaches_the_task_by_its_global_id() -> None:
    pytest.importorskip("jobframe.contrib.django.global_id", reason="GlobalID for Django models")
    from django_testapp.models import Customer

    ann = Customer.objects.create(name="Ann")
    adapter = AsyncAdapter(autostart=False)
    try:
        with override_settings(TASKS=tasks_setting(adapter)), _worker(adapter, WORKED):
            result = finished(test_tasks.customer_name.enqueue(ann))
            assert result.args == [ann]
    finally:
        adapter.shutdown(5.0)
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == "Ann"
    assert result.args == [ann], "located again when the result is read"


def test_a_task_held_until_commit_gets_its_whole_id_when_stored() -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    import jobframe

    adapter = AsyncAdapter(autostart=False)
    engine = sa.create_engine("sqlite://")
    try:
        with override_settings(TASKS=tasks_setting(adapter)), Session(engine) as session:
            with session.begin(), jobframe.after_commit(session):
                session.execute(sa.text("select 1"))
                result = test_tasks.noop_task.enqueue()
                held = result.id
                assert "." not in held, "not stored yet: no provider id"
            assert result.id.startswith(held + "."), "stored at commit"
            result.refresh()
            assert result.status == TaskResultStatus.READY
    finally:
        adapter.shutdown(5.0)
        engine.dispose()


def test_an_adapter_that_cannot_be_built_names_its_options_without_the_password() -> None:
    secret = "hunter2-not-logged"
    options = {"ADAPTER": "sql", "ADAPTER_OPTIONS": {"url": f"nosuchdb://ann:{secret}@127.0.0.1:1/x"}}
    backend = JobframeBackend("default", {"BACKEND": "x", "OPTIONS": options})
    with pytest.raises(ConfigurationError, match=r"'sql' adapter .*ADAPTER_OPTIONS") as raised:
        backend.adapter()
    assert secret not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
