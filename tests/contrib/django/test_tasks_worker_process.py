"""Tasks run by a real ``jobframe work`` process (Django set up there from
``DJANGO_SETTINGS_MODULE``), their results read in this process by id: ``get_result`` works
from a process other than the one that ran the task (upstream's
``test_get_result_from_different_request``, across processes)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from contrib.django.task_support import finished, tasks_setting
from django.test import override_settings
from django_testapp import tasks as test_tasks

from jobframe.contrib.django.task_job import WORKER_ID
from jobframe.contrib.django.tasks_api import TaskResultStatus
from jobframe.testing.databases import REDIS_URL
from jobframe.testing.workers import Workers, write_config
from jobframe_redis.testing import redis_adapter

TESTS = str(Path(__file__).parents[2])


@pytest.mark.slow
def test_a_worker_process_runs_tasks_whose_results_this_process_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"jfdjtasks-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "django_testapp.worker_settings")
    monkeypatch.setenv("DJTASKS_TEST_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("DJTASKS_TEST_PREFIX", prefix)
    with redis_adapter(prefix=prefix) as adapter, override_settings(TASKS=tasks_setting(adapter)):
        write_config(tmp_path, "redis", url=REDIS_URL, prefix=prefix)
        workers = Workers(tmp_path, ("jobframe.contrib.django.tasks",), [TESTS], concurrency=2)
        try:
            proc = workers.start()
            ok = test_tasks.context_summary.using(priority=7).enqueue()
            bad = test_tasks.failing_task_value_error.enqueue()
            typed = test_tasks.echo.enqueue((1, 2), when=uuid.UUID(int=3))
            for result in (ok, bad, typed):
                finished(result, 60)
        except AssertionError:
            raise AssertionError(workers.logs()) from None
        finally:
            workers.close()

    assert ok.status == TaskResultStatus.SUCCESSFUL
    assert ok.return_value["id"] == ok.id and ok.return_value["priority"] == 7
    assert ok.worker_ids == [f"{WORKER_ID.rpartition(':')[0]}:{proc.pid}"] != [WORKER_ID]
    assert bad.status == TaskResultStatus.FAILED
    assert bad.errors[0].exception_class is ValueError
    assert "This task failed due to ValueError" in bad.errors[0].traceback
    assert typed.return_value == {"args": ((1, 2),), "kwargs": {"when": uuid.UUID(int=3)}}
    assert os.getpid() != proc.pid
