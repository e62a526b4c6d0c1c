"""Django's own task backend tests, ported to `JobframeBackend`, on every jobframe store: the
async adapter, Redis, SQLite and PostgreSQL, each with a real `Worker` thread running the tasks.

Ported from django/django ``tests/tasks/`` (the django-tasks backport's ``tests/tests/`` are the
same tests under ``django_tasks``), with the jobframe backend as the ``default`` backend:

- ``test_tasks.py`` (`contract_tasks.TaskContract`): every test of ``TaskTestCase`` except
  those listed below. Changed: ``test_enqueue_task`` finds the result with ``get_result``
  instead of reading ``DummyBackend.results``; ``test_enqueue_with_invalid_argument`` passes an
  ``object()`` (a datetime, upstream's example, is an argument jobframe carries); the
  ``test_get_result*`` tests compare a result's id, task, arguments and backend, and
  ``test_refresh_result`` compares results once the task finished, because a worker may run
  the task between two reads; ``test_task_error_*`` use an error from a task jobframe ran.
- ``test_immediate_backend.py`` and ``test_dummy_backend.py`` (`contract_results.
  ResultContract`): a result just enqueued says what the dummy backend's say (READY, nothing
  started, no attempt, no error), and once the worker ran it what the immediate backend's say
  (status, times in order, one attempt, return value, errors with exception class and
  traceback, the three log lines, context). Changed: ``test_enqueue_logs`` and
  ``test_failed_logs`` do not expect "enqueued" to be the first line (the caller logs it once
  the job is stored, and a worker may have started it by then); ``test_complex_return_value``
  expects jobframe's `SerializationError` (a TypeError) for a value it cannot store;
  ``test_cannot_pass_run_after`` becomes ``test_can_pass_run_after`` (jobframe defers);
  ``test_validate_on_enqueue`` builds its task under ``QUEUES = []`` as upstream's class does.

Left out, and why:

- ``test_throws_keyboard_interrupt`` (immediate): it runs the task in the caller; here a
  worker runs it, and a KeyboardInterrupt there stops the worker as for any job.
- ``test_cannot_get_result``, ``test_cannot_refresh_result``, ``test_get_result_from_different_
  request`` (immediate) and the views tests (``test_meaning_of_life_view``): the immediate
  backend cannot get results, this one can; getting a result from another process is tested
  in ``test_tasks_worker_process.py`` with a ``jobframe work`` subprocess.
- ``test_clear`` (dummy): ``DummyBackend.clear`` is the dummy backend's own API.
- ``test_call_task*``, ``test_name``, ``test_no_backends``, ``test_custom_backend.py`` and
  ``test_utils.py``: they test the Task class, custom backend classes and helpers, not a
  backend; nothing in them reaches ``JobframeBackend``.
"""

from __future__ import annotations

import contrib.django.task_support as support
from contrib.django.contract_results import ResultContract
from contrib.django.contract_tasks import TaskContract


class TestOnAsyncAdapter(TaskContract, ResultContract, support.OnStore):
    store = "async"


class TestOnRedis(TaskContract, ResultContract, support.OnStore):
    store = "redis"


class TestOnSQLite(TaskContract, ResultContract, support.OnStore):
    store = "sqlite"


class TestOnPostgreSQL(TaskContract, ResultContract, support.OnStore):
    store = "postgresql"
