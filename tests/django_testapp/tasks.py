"""Django tasks of the test app: a port of the tasks of Django's own ``tests/tasks/tasks.py``
(and the django-tasks backport's), plus a few that the jobframe backend's tests need.

Defined with the task framework this Django has (``django.tasks`` on 6, ``django_tasks`` on
5.2): the backend under test finds them by path, as a worker does.
"""

from __future__ import annotations

import threading
from typing import Any

from jobframe.contrib.django.tasks_api import TaskContext, task

#: what `record_order` saw, in order (the priority test reads it)
ORDER: list[str] = []
#: set by `wait_for_release` when it starts, and by a test to let it return
STARTED = threading.Event()
RELEASE = threading.Event()


@task()
def noop_task(*args: Any, **kwargs: Any) -> None:
    return None


@task
def noop_task_from_bare_decorator(*args: Any, **kwargs: Any) -> None:
    return None


@task()
async def noop_task_async(*args: Any, **kwargs: Any) -> None:
    return None


@task()
def calculate_meaning_of_life() -> int:
    return 42


@task()
def failing_task_value_error() -> None:
    raise ValueError("This task failed due to ValueError")


@task()
def failing_task_system_exit() -> None:
    raise SystemExit("This task failed due to SystemExit")


@task()
def complex_exception() -> None:
    raise ValueError(ValueError("This task failed"))


@task()
def complex_return_value() -> Any:
    # Return something which isn't JSON serializable nor picklable
    return lambda: True


@task(takes_context=True)
def get_task_id(context: TaskContext) -> str:
    return context.task_result.id


@task(takes_context=True)
def test_context(context: TaskContext, attempt: int) -> None:
    assert isinstance(context, TaskContext)
    assert context.attempt == attempt


# -- jobframe's own --------------------------------------------------------------------------


@task()
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Returns what it was given, to show which types survive the trip."""
    return {"args": args, "kwargs": kwargs}


@task()
async def async_echo(value: Any) -> Any:
    return value


@task()
def record_order(label: str) -> str:
    ORDER.append(label)
    return label


@task()
def wait_for_release() -> str:
    STARTED.set()
    if not RELEASE.wait(15):
        raise TimeoutError("the test never released the task")
    return "released"


@task(takes_context=True)
def context_summary(context: TaskContext) -> dict[str, Any]:
    result = context.task_result
    return {
        "id": result.id,
        "attempt": context.attempt,
        "status": str(result.status),
        "backend": result.backend,
        "queue_name": result.task.queue_name,
        "priority": result.task.priority,
    }


def _original() -> None:
    return None


#: a task whose function's path names the plain function, not this task: refused at enqueue
renamed_task = task()(_original)


@task()
def create_customer(name: str) -> int:
    """Uses the ORM in the worker (its own thread and connection)."""
    from django_testapp.models import Customer

    return int(Customer.objects.create(name=name).pk)


@task()
def customer_name(customer: Any) -> str:
    """Gets a model, located again in the worker by its GlobalID."""
    return str(customer.name)
