"""Django's task framework, imported once: ``django.tasks`` on Django 6, the ``django-tasks``
backport (module ``django_tasks``, the same API) on Django 5.2.

Every other module of the backend imports these names from here, so there is one code path.
Types come from ``django.tasks`` (django-stubs); at run time the module Django has is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import django

from jobframe.errors import ConfigurationError

#: the module that provides the task framework on this Django
MODULE = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"

# Types always come from django.tasks (django-stubs); at run time, from what this Django has.
if TYPE_CHECKING or MODULE == "django.tasks":
    from django.tasks import (
        DEFAULT_TASK_QUEUE_NAME,
        TaskContext,
        TaskResult,
        TaskResultStatus,
        default_task_backend,
        task,
        task_backends,
    )
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import Task, TaskError
    from django.tasks.exceptions import (
        InvalidTask,
        InvalidTaskBackend,
        TaskResultDoesNotExist,
        TaskResultMismatch,
    )
    from django.tasks.signals import task_enqueued, task_finished, task_started
else:
    try:
        from django_tasks import (
            DEFAULT_TASK_QUEUE_NAME,
            TaskContext,
            TaskResult,
            TaskResultStatus,
            default_task_backend,
            task,
            task_backends,
        )
    except ImportError as exc:  # pragma: no cover - depends on what is installed
        raise ConfigurationError(
            f"jobframe's django.tasks backend needs Django 6, or on Django "
            f"{django.get_version()} the backport: pip install django-tasks ({exc})."
        ) from exc
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskError
    from django_tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch
    from django_tasks.signals import task_enqueued, task_finished, task_started

    try:  # the names django.tasks has, from django-tasks 0.13 on
        from django_tasks.exceptions import InvalidTask, InvalidTaskBackend
    except ImportError:  # django-tasks 0.12
        from django_tasks.exceptions import InvalidTaskBackendError as InvalidTaskBackend
        from django_tasks.exceptions import InvalidTaskError as InvalidTask

__all__ = [
    "DEFAULT_TASK_QUEUE_NAME",
    "MODULE",
    "BaseTaskBackend",
    "InvalidTask",
    "InvalidTaskBackend",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultMismatch",
    "TaskResultStatus",
    "default_task_backend",
    "task",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_started",
]
