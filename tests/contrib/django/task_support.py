"""What the django.tasks backend tests share: a jobframe store with a real worker per test
class, the ``TASKS`` setting that points Django at it, and waiting for a task to finish."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar

from django.test import SimpleTestCase, override_settings
from stores import store_adapter

from jobframe.backend.adapter import QueueAdapter
from jobframe.contrib.django.tasks_api import MODULE, TaskResult
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.workers import wait_until, worker_thread
from jobframe.worker.runtime import WorkerOptions

BACKEND = "jobframe.contrib.django.tasks.JobframeBackend"
IMMEDIATE = f"{MODULE}.backends.immediate.ImmediateBackend"
#: the logger Django's task signals log to
LOGGER = "django.tasks" if MODULE == "django.tasks" else "django_tasks"
#: queues the class's worker runs; ``ordered`` is run by the priority test's own worker
WORKED = ["default", "queue_1"]
QUEUES = [*WORKED, "ordered"]


def tasks_setting(adapter: QueueAdapter, queues: list[str] = QUEUES) -> dict[str, Any]:
    """``TASKS`` as Django's own test_tasks.py sets it, with the jobframe backend as default."""
    return {
        "default": {"BACKEND": BACKEND, "QUEUES": queues, "OPTIONS": {"ADAPTER": adapter}},
        "immediate": {"BACKEND": IMMEDIATE, "QUEUES": []},
        "missing": {"BACKEND": "does.not.exist"},
    }


def worker_options(queues: list[str], concurrency: int = 2) -> WorkerOptions:
    return WorkerOptions(
        queues=queues, concurrency=concurrency, fetch_timeout=0.1, heartbeat_interval=1.0
    )


class OnStore(SimpleTestCase):
    """A test class whose default task backend is jobframe on ``store`` (``async``, ``redis``,
    ``sqlite``, ``postgresql``), with a `Worker` thread running ``WORKED`` for the whole class."""

    store: ClassVar[str] = "async"
    adapter: ClassVar[QueueAdapter]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        stack = ExitStack()
        cls.addClassCleanup(stack.close)
        folder = Path(tempfile.mkdtemp(prefix="jfdjtasks-"))
        stack.callback(shutil.rmtree, folder, True)
        if cls.store == "async":
            cls.adapter = AsyncAdapter(autostart=False)
            stack.callback(cls.adapter.shutdown, 5.0)
        else:
            cls.adapter = stack.enter_context(store_adapter(cls.store, folder, label="jfdjtasks"))  # type: ignore[arg-type]
        backend = cls.adapter.worker_backend()
        assert backend is not None
        stack.enter_context(worker_thread(backend, worker_options(WORKED)))
        stack.enter_context(override_settings(TASKS=tasks_setting(cls.adapter)))

    def tearDown(self) -> None:
        # A test that enqueued without waiting leaves its tasks to the worker: let them end
        # here, or their log lines land in the next test's assertLogs.
        inspector = self.adapter.inspector()
        assert inspector is not None
        wait_until(lambda: inspector.pending() == 0, 15, "the test's tasks to finish")
        super().tearDown()


def finished(result: TaskResult[..., Any], timeout: float = 15.0) -> TaskResult[..., Any]:
    """``result``, refreshed until its task has finished (a deadline, never a sleep)."""

    def done() -> bool:
        result.refresh()
        return result.is_finished

    wait_until(done, timeout, f"the task {result.id} to finish", interval=0.02)
    return result


async def afinished(result: TaskResult[..., Any], timeout: float = 15.0) -> TaskResult[..., Any]:
    """`finished` for async tests: ``arefresh`` until the task has finished."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        await result.arefresh()
        if result.is_finished:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for the task {result.id}")
        await asyncio.sleep(0.02)  # a poll interval under a deadline, as wait_until's
