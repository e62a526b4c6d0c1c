"""A task payload names a function by its path, and payloads come from anywhere: a worker
imports only modules of installed apps (or ``OPTIONS['MODULES']``) and calls only ``@task``
functions. Here hostile payloads are written straight to the store, past the backend's own
checks at enqueue, and a real worker refuses them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from contrib.django.task_support import WORKED, tasks_setting, worker_options
from django.test import override_settings

import jobframe
from jobframe.contrib.django.task_job import TaskJob
from jobframe.contrib.django.tasks_api import InvalidTask
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.workers import worker_thread

OPTIONS = {"backend": "default", "queue_name": "default", "priority": 0, "run_after": None}


@pytest.fixture
def adapter() -> Iterator[AsyncAdapter]:
    made = AsyncAdapter(autostart=False)
    backend = made.worker_backend()
    assert backend is not None
    try:
        with override_settings(TASKS=tasks_setting(made)), worker_thread(
            backend, worker_options(WORKED)
        ):
            yield made
    finally:
        made.shutdown(5.0)


def _run(adapter: AsyncAdapter, path: str, options: dict[str, Any] = OPTIONS) -> Any:
    job = TaskJob(path, options, ["echo owned"], {})
    job._task_adapter = adapter
    job.enqueue()
    with pytest.raises(jobframe.JobFailed) as failed:
        jobframe.job_result(job.job_id, timeout=10, adapter=adapter)
    return failed.value


def test_a_module_outside_the_apps_is_not_imported(adapter: AsyncAdapter) -> None:
    assert "antigravity" not in sys.modules  # importing it opens a web browser
    error = _run(adapter, "antigravity.fly")
    assert error.error_class == f"{InvalidTask.__module__}.{InvalidTask.__qualname__}"
    assert "outside the installed apps" in error.message
    assert "antigravity" not in sys.modules


def test_an_imported_function_that_is_not_a_task_is_not_called(adapter: AsyncAdapter) -> None:
    error = _run(adapter, "os.system")  # os is imported: found, but not a @task
    assert "'os.system' is not a task" in error.message


def test_a_backend_alias_that_is_not_jobframe_is_refused(adapter: AsyncAdapter) -> None:
    error = _run(adapter, "django_testapp.tasks.noop_task", {**OPTIONS, "backend": "immediate"})
    assert "not jobframe.contrib.django.tasks.JobframeBackend" in error.message
