"""Port of Django's ``tests/tasks/test_immediate_backend.py`` and ``test_dummy_backend.py``
(the backport's are the same) against the jobframe backend with a real worker: what a result
says when the task was just enqueued (the dummy backend's tests) and once it ran (the immediate
backend's). Run by `test_tasks_contract` on every store; see its docstring."""

from __future__ import annotations

from typing import Any
from unittest import mock

from contrib.django.task_support import BACKEND, LOGGER, afinished, finished
from django.test import override_settings
from django.utils import timezone
from django_testapp import tasks as test_tasks

from jobframe.contrib.django.tasks import JobframeBackend
from jobframe.contrib.django.tasks_api import (
    InvalidTask,
    TaskResultStatus,
    default_task_backend,
    task_backends,
)
from jobframe.errors import SerializationError


class ResultContract:
    """The immediate and dummy backends' tests that hold for a backend with workers."""

    adapter: Any
    assertEqual: Any
    assertFalse: Any
    assertGreaterEqual: Any
    assertIn: Any
    assertIsInstance: Any
    assertIsNone: Any
    assertIsNotNone: Any
    assertLogs: Any
    assertRaisesMessage: Any
    assertTrue: Any
    subTest: Any

    def test_using_correct_backend_alias_and_options(self) -> None:
        self.assertEqual(default_task_backend, task_backends["default"])
        self.assertIsInstance(task_backends["default"], JobframeBackend)
        self.assertEqual(default_task_backend.alias, "default")
        self.assertEqual(default_task_backend.options, {"ADAPTER": self.adapter})

    def _assert_ready(self, result: Any, task: Any, args: list[Any], kwargs: Any) -> None:
        """What the dummy backend's test_enqueue_task checks of a result just enqueued."""
        self.assertEqual(result.status, TaskResultStatus.READY)
        self.assertFalse(result.is_finished)
        self.assertIsNone(result.started_at)
        self.assertIsNone(result.last_attempted_at)
        self.assertIsNone(result.finished_at)
        with self.assertRaisesMessage(ValueError, "Task has not finished yet"):
            result.return_value  # noqa: B018
        self.assertEqual(result.task, task)
        self.assertEqual(result.args, args)
        self.assertEqual(result.kwargs, kwargs)
        self.assertEqual(result.attempts, 0)
        self.assertEqual(result.errors, [])

    def _assert_ran(self, result: Any, status: Any) -> None:
        """What the immediate backend's tests check of a result that ran."""
        self.assertEqual(result.status, status)
        self.assertTrue(result.is_finished)
        self.assertIsNotNone(result.started_at)
        self.assertIsNotNone(result.last_attempted_at)
        self.assertIsNotNone(result.finished_at)
        self.assertGreaterEqual(result.started_at, result.enqueued_at)
        self.assertGreaterEqual(result.finished_at, result.started_at)
        self.assertEqual(result.attempts, 1)

    def test_enqueue_task(self) -> None:
        for task in [test_tasks.noop_task, test_tasks.noop_task_async]:
            with self.subTest(task):
                result = task.enqueue(1, two=3)
                self._assert_ready(result, task, [1], {"two": 3})

                finished(result)
                self._assert_ran(result, TaskResultStatus.SUCCESSFUL)
                self.assertIsNone(result.return_value)
                self.assertEqual(result.task, task)
                self.assertEqual(result.args, [1])
                self.assertEqual(result.kwargs, {"two": 3})

    async def test_enqueue_task_async(self) -> None:
        for task in [test_tasks.noop_task, test_tasks.noop_task_async]:
            with self.subTest(task):
                result = await task.aenqueue()
                self._assert_ready(result, task, [], {})

                await afinished(result)
                self._assert_ran(result, TaskResultStatus.SUCCESSFUL)
                self.assertIsNone(result.return_value)
                self.assertEqual(result.args, [])
                self.assertEqual(result.kwargs, {})

    def test_catches_exception(self) -> None:
        test_data = [
            (test_tasks.failing_task_value_error, ValueError, "This task failed due to ValueError"),
            (test_tasks.failing_task_system_exit, SystemExit, "This task failed due to SystemExit"),
        ]
        for task, exception, message in test_data:
            with self.subTest(task), self.assertLogs(LOGGER, level="ERROR") as captured_logs:
                result = finished(task.enqueue())

                # assert logging (sent by the worker, before the result is recorded)
                self.assertEqual(len(captured_logs.output), 1)
                self.assertIn(message, captured_logs.output[0])

                # assert result
                self._assert_ran(result, TaskResultStatus.FAILED)
                with self.assertRaisesMessage(ValueError, "Task failed"):
                    result.return_value  # noqa: B018
                self.assertEqual(result.errors[0].exception_class, exception)
                traceback = result.errors[0].traceback
                self.assertTrue(
                    traceback and traceback.endswith(f"{exception.__name__}: {message}\n"),
                    traceback,
                )
                self.assertEqual(result.task, task)
                self.assertEqual(result.args, [])
                self.assertEqual(result.kwargs, {})

    def test_complex_exception(self) -> None:
        with self.assertLogs(LOGGER, level="ERROR"):
            result = finished(test_tasks.complex_exception.enqueue())

        self._assert_ran(result, TaskResultStatus.FAILED)
        self.assertIsNone(result._return_value)
        self.assertEqual(result.errors[0].exception_class, ValueError)
        self.assertIn('ValueError(ValueError("This task failed"))', result.errors[0].traceback)
        self.assertEqual(result.task, test_tasks.complex_exception)
        self.assertEqual(result.args, [])
        self.assertEqual(result.kwargs, {})

    def test_complex_return_value(self) -> None:
        with self.assertLogs(LOGGER, level="ERROR"):
            result = finished(test_tasks.complex_return_value.enqueue())

        self._assert_ran(result, TaskResultStatus.FAILED)
        self.assertIsNone(result._return_value)
        # Changed: jobframe's serializers refuse the value (upstream: normalize_json's
        # TypeError "Unsupported type"); SerializationError is a TypeError.
        self.assertEqual(result.errors[0].exception_class, SerializationError)
        self.assertIn("cannot be stored as its result", result.errors[0].traceback)

    def test_result(self) -> None:
        result = default_task_backend.enqueue(test_tasks.calculate_meaning_of_life, [], {})
        finished(result)
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 42)

    async def test_result_async(self) -> None:
        result = await default_task_backend.aenqueue(test_tasks.calculate_meaning_of_life, [], {})
        await afinished(result)
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 42)

    def test_refresh_result(self) -> None:
        result = default_task_backend.enqueue(test_tasks.calculate_meaning_of_life, (), {})
        self.assertEqual(result.status, TaskResultStatus.READY)
        finished(result)
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 42)

    async def test_refresh_result_async(self) -> None:
        result = await default_task_backend.aenqueue(test_tasks.calculate_meaning_of_life, (), {})
        self.assertEqual(result.status, TaskResultStatus.READY)
        await afinished(result)
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)

    def test_can_pass_run_after(self) -> None:
        # Inverted: the immediate backend refuses run_after; jobframe defers the task.
        self.assertTrue(default_task_backend.supports_defer)
        default_task_backend.validate_task(
            test_tasks.failing_task_value_error.using(run_after=timezone.now())
        )

    def test_enqueue_logs(self) -> None:
        with self.assertLogs(LOGGER, level="DEBUG") as captured_logs:
            result = finished(test_tasks.noop_task.enqueue())

        # Changed: "enqueued" is logged by the caller once the job is stored, and the worker
        # may log "RUNNING" before that; the worker's two lines keep their order.
        self.assertEqual(len(captured_logs.output), 3)
        enqueued, *worker = sorted(captured_logs.output, key=lambda line: "enqueued" not in line)
        self.assertIn("enqueued", enqueued)
        self.assertIn(result.id, enqueued)
        self.assertIn("state=RUNNING", worker[0])
        self.assertIn(result.id, worker[0])
        self.assertIn("state=SUCCESSFUL", worker[1])
        self.assertIn(result.id, worker[1])

    def test_failed_logs(self) -> None:
        with self.assertLogs(LOGGER, level="DEBUG") as captured_logs:
            result = finished(test_tasks.failing_task_value_error.enqueue())

        self.assertEqual(len(captured_logs.output), 3)
        worker = [line for line in captured_logs.output if "enqueued" not in line]
        self.assertIn("state=RUNNING", worker[0])
        self.assertIn(result.id, worker[0])
        self.assertIn("state=FAILED", worker[1])
        self.assertIn(result.id, worker[1])

    def test_check(self) -> None:
        errors = list(default_task_backend.check())
        self.assertEqual(len(errors), 0, errors)

    def test_takes_context(self) -> None:
        result = finished(test_tasks.get_task_id.enqueue())
        self.assertEqual(result.return_value, result.id)

    def test_context(self) -> None:
        result = finished(test_tasks.test_context.enqueue(1))
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)

    def test_validate_disallowed_async_task(self) -> None:
        with (
            mock.patch.multiple(JobframeBackend, supports_async_task=False),
            self.assertRaisesMessage(InvalidTask, "Backend does not support async"),
        ):
            default_task_backend.validate_task(test_tasks.noop_task_async)

    def test_validate_on_enqueue(self) -> None:
        with override_settings(TASKS=_any_queue(self.adapter)):  # upstream: QUEUES = []
            task_with_custom_queue_name = test_tasks.noop_task.using(queue_name="unknown_queue")
        with (
            override_settings(
                TASKS={
                    "default": {
                        "BACKEND": BACKEND,
                        "QUEUES": ["queue-1"],
                        "OPTIONS": {"ADAPTER": self.adapter},
                    }
                }
            ),
            self.assertRaisesMessage(InvalidTask, "Queue 'unknown_queue' is not valid for backend"),
        ):
            task_with_custom_queue_name.enqueue()

    async def test_validate_on_aenqueue(self) -> None:
        with override_settings(TASKS=_any_queue(self.adapter)):  # upstream: QUEUES = []
            task_with_custom_queue_name = test_tasks.noop_task.using(queue_name="unknown_queue")
        with (
            override_settings(
                TASKS={
                    "default": {
                        "BACKEND": BACKEND,
                        "QUEUES": ["queue-1"],
                        "OPTIONS": {"ADAPTER": self.adapter},
                    }
                }
            ),
            self.assertRaisesMessage(InvalidTask, "Queue 'unknown_queue' is not valid for backend"),
        ):
            await task_with_custom_queue_name.aenqueue()


def _any_queue(adapter: Any) -> dict[str, Any]:
    """``TASKS`` whose default backend takes any queue name (``QUEUES = []``)."""
    return {"default": {"BACKEND": BACKEND, "QUEUES": [], "OPTIONS": {"ADAPTER": adapter}}}


__all__ = ["ResultContract"]
