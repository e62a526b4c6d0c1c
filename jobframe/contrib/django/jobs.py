"""The jobs of jobframe's own Django app, imported like every installed app's ``jobs`` module
(``manage.py jobframe work``): the job classes that run Django tasks, so a worker knows them.

Nothing is registered where the task framework is missing (Django 5.2 without the
``django-tasks`` backport): there are no tasks to run there.
"""

from __future__ import annotations

from jobframe.errors import ConfigurationError

try:
    from jobframe.contrib.django.task_job import AsyncTaskJob, TaskJob
except ConfigurationError:  # pragma: no cover - Django 5.2 without django-tasks
    __all__: list[str] = []
else:
    __all__ = ["AsyncTaskJob", "TaskJob"]
