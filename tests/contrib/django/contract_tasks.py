"""Port of Django's ``tests/tasks/test_tasks.py`` (``TaskTestCase``; the django-tasks backport's
``tests/tests/test_tasks.py`` is the same) with the jobframe backend as the default backend
instead of ``DummyBackend``. Run by `test_tasks_contract` on every store; see its docstring for
what was ported, changed, or left out, and why."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from contrib.django.task_support import IMMEDIATE, finished
from django.utils import timezone
from django.utils.module_loading import import_string
from django_testapp import tasks as test_tasks

from jobframe.contrib.django.tasks import JobframeBackend
from jobframe.contrib.django.tasks_api import (
    DEFAULT_TASK_QUEUE_NAME,
    InvalidTask,
    InvalidTaskBackend,
    Task,
    TaskResultDoesNotExist,
    TaskResultMismatch,
    TaskResultStatus,
    default_task_backend,
    task,
    task_backends,
)

TASK_MIN_PRIORITY, TASK_MAX_PRIORITY = -100, 100


class TaskContract:
    """``TaskTestCase``: the Task API against a backend (mixed into a `task_support.OnStore`)."""

    assertEqual: Any
    assertIs: Any
    assertIsInstance: Any
    assertIsNone: Any
    assertIsNot: Any
    assertRaises: Any
    assertRaisesMessage: Any
    subTest: Any

    def test_using_correct_backend(self) -> None:
        self.assertEqual(default_task_backend, task_backends["default"])
        self.assertIsInstance(task_backends["default"], JobframeBackend)

    def test_task_decorator(self) -> None:
        self.assertIsInstance(test_tasks.noop_task, Task)
        self.assertIsInstance(test_tasks.noop_task_async, Task)
        self.assertIsInstance(test_tasks.noop_task_from_bare_decorator, Task)

    def test_enqueue_task(self) -> None:
        result = test_tasks.noop_task.enqueue()

        self.assertEqual(result.status, TaskResultStatus.READY)
        self.assertEqual(result.task, test_tasks.noop_task)
        self.assertEqual(result.args, [])
        self.assertEqual(result.kwargs, {})
        # upstream: `DummyBackend.results == [result]`; here the backend finds it by its id
        self.assertEqual(default_task_backend.get_result(result.id).id, result.id)

    async def test_enqueue_task_async(self) -> None:
        result = await test_tasks.noop_task.aenqueue()

        self.assertEqual(result.status, TaskResultStatus.READY)
        self.assertEqual(result.task, test_tasks.noop_task)
        self.assertEqual(result.args, [])
        self.assertEqual(result.kwargs, {})
        self.assertEqual((await default_task_backend.aget_result(result.id)).id, result.id)

    def test_enqueue_with_invalid_argument(self) -> None:
        # Changed: jobframe's serializers carry a datetime (upstream's invalid argument), so
        # the invalid argument is one they cannot serialize. Still a TypeError, in the caller.
        with self.assertRaisesMessage(TypeError, "args[0]"):
            test_tasks.noop_task.enqueue(object())

    async def test_aenqueue_with_invalid_argument(self) -> None:
        with self.assertRaisesMessage(TypeError, "args[0]"):
            await test_tasks.noop_task.aenqueue(object())

    def test_using_priority(self) -> None:
        self.assertEqual(test_tasks.noop_task.priority, 0)
        self.assertEqual(test_tasks.noop_task.using(priority=1).priority, 1)
        self.assertEqual(test_tasks.noop_task.priority, 0)

    def test_using_queue_name(self) -> None:
        self.assertEqual(test_tasks.noop_task.queue_name, DEFAULT_TASK_QUEUE_NAME)
        self.assertEqual(test_tasks.noop_task.using(queue_name="queue_1").queue_name, "queue_1")
        self.assertEqual(test_tasks.noop_task.queue_name, DEFAULT_TASK_QUEUE_NAME)

    def test_using_run_after(self) -> None:
        now = timezone.now()

        self.assertIsNone(test_tasks.noop_task.run_after)
        self.assertEqual(test_tasks.noop_task.using(run_after=now).run_after, now)
        self.assertIsNone(test_tasks.noop_task.run_after)

    def test_using_unknown_backend(self) -> None:
        self.assertEqual(test_tasks.noop_task.backend, "default")

        with self.assertRaisesMessage(
            InvalidTaskBackend, "The connection 'unknown' doesn't exist."
        ):
            test_tasks.noop_task.using(backend="unknown")

    def test_using_missing_backend(self) -> None:
        self.assertEqual(test_tasks.noop_task.backend, "default")

        with self.assertRaisesMessage(
            InvalidTaskBackend,
            "Could not find backend 'does.not.exist': No module named 'does'",
        ):
            test_tasks.noop_task.using(backend="missing")

    def test_using_creates_new_instance(self) -> None:
        new_task = test_tasks.noop_task.using()

        self.assertEqual(new_task, test_tasks.noop_task)
        self.assertIsNot(new_task, test_tasks.noop_task)

    def test_chained_using(self) -> None:
        now = timezone.now()

        run_after_task = test_tasks.noop_task.using(run_after=now)
        self.assertEqual(run_after_task.run_after, now)

        priority_task = run_after_task.using(priority=10)
        self.assertEqual(priority_task.priority, 10)
        self.assertEqual(priority_task.run_after, now)

        self.assertEqual(run_after_task.priority, 0)

    async def test_refresh_result(self) -> None:
        # Changed: a real worker runs the task, so the result is compared once it finished
        # (upstream's DummyBackend never runs it).
        result = await test_tasks.noop_task.aenqueue()
        finished(result)

        original_result = dataclasses.asdict(result)

        result.refresh()

        self.assertEqual(dataclasses.asdict(result), original_result)

        await result.arefresh()

        self.assertEqual(dataclasses.asdict(result), original_result)

    def test_naive_datetime(self) -> None:
        with self.assertRaisesMessage(InvalidTask, "run_after must be an aware datetime"):
            test_tasks.noop_task.using(run_after=datetime.now())

    def test_invalid_priority(self) -> None:
        message = f"priority must be a whole number between {TASK_MIN_PRIORITY} and "
        for priority in (-101, 101, 3.1):
            with self.subTest(priority), self.assertRaisesMessage(InvalidTask, message):
                test_tasks.noop_task.using(priority=priority)

        test_tasks.noop_task.using(priority=100)
        test_tasks.noop_task.using(priority=-100)
        test_tasks.noop_task.using(priority=0)

    def test_unknown_queue_name(self) -> None:
        with self.assertRaisesMessage(InvalidTask, "Queue 'queue-2' is not valid for backend"):
            test_tasks.noop_task.using(queue_name="queue-2")
        # Validation is bypassed when the backend QUEUES is an empty list.
        self.assertEqual(
            test_tasks.noop_task.using(queue_name="queue-2", backend="immediate").queue_name,
            "queue-2",
        )

    def test_get_result(self) -> None:
        result = default_task_backend.enqueue(test_tasks.noop_task, (), {})

        new_result = test_tasks.noop_task.get_result(result.id)

        # Changed: upstream compares whole results; a worker may have run the task between the
        # two calls, so what cannot change is compared.
        self.assertEqual(_identity(new_result), _identity(result))

    async def test_get_result_async(self) -> None:
        result = await default_task_backend.aenqueue(test_tasks.noop_task, (), {})

        new_result = await test_tasks.noop_task.aget_result(result.id)

        self.assertEqual(_identity(new_result), _identity(result))

    async def test_get_missing_result(self) -> None:
        with self.assertRaises(TaskResultDoesNotExist):
            test_tasks.noop_task.get_result("123")

        with self.assertRaises(TaskResultDoesNotExist):
            await test_tasks.noop_task.aget_result("123")

    def test_get_incorrect_result(self) -> None:
        result = default_task_backend.enqueue(test_tasks.noop_task_async, (), {})
        with self.assertRaisesMessage(TaskResultMismatch, "Task does not match"):
            test_tasks.noop_task.get_result(result.id)

    async def test_get_incorrect_result_async(self) -> None:
        result = await default_task_backend.aenqueue(test_tasks.noop_task_async, (), {})
        with self.assertRaisesMessage(TaskResultMismatch, "Task does not match"):
            await test_tasks.noop_task.aget_result(result.id)

    def test_invalid_function(self) -> None:
        for invalid_function in [any, self.test_invalid_function]:
            with (
                self.subTest(invalid_function),
                self.assertRaisesMessage(
                    InvalidTask, "Task function must be defined at a module level"
                ),
            ):
                task()(invalid_function)

    def test_get_backend(self) -> None:
        self.assertEqual(test_tasks.noop_task.backend, "default")
        self.assertIsInstance(test_tasks.noop_task.get_backend(), JobframeBackend)

        immediate_task = test_tasks.noop_task.using(backend="immediate")
        self.assertEqual(immediate_task.backend, "immediate")
        self.assertIsInstance(immediate_task.get_backend(), import_string(IMMEDIATE))

    def test_module_path(self) -> None:
        # A worker finds a task by this path.
        self.assertEqual(test_tasks.noop_task.module_path, "django_testapp.tasks.noop_task")
        self.assertIs(import_string(test_tasks.noop_task.module_path), test_tasks.noop_task)

    def test_task_error_invalid_exception(self) -> None:
        # Changed: the error comes from a task the jobframe backend ran, not the immediate one.
        result = finished(test_tasks.failing_task_value_error.enqueue())

        self.assertEqual(len(result.errors), 1)

        object.__setattr__(result.errors[0], "exception_class_path", "subprocess.run")

        with self.assertRaisesMessage(
            ValueError, "'subprocess.run' does not reference a valid exception."
        ):
            result.errors[0].exception_class  # noqa: B018

    def test_task_error_unknown_module(self) -> None:
        result = finished(test_tasks.failing_task_value_error.enqueue())

        self.assertEqual(len(result.errors), 1)

        object.__setattr__(result.errors[0], "exception_class_path", "does.not.exist")

        with self.assertRaises(ImportError):
            result.errors[0].exception_class  # noqa: B018

    def test_takes_context_without_taking_context(self) -> None:
        with self.assertRaisesMessage(
            InvalidTask, "Task takes context but does not have a first argument of 'context'"
        ):
            task(takes_context=True)(test_tasks.calculate_meaning_of_life.func)


def _identity(result: Any) -> tuple[Any, ...]:
    return (result.id, result.task, result.args, result.kwargs, result.backend)


__all__ = ["TaskContract"]
