"""The Django app: ``"jobframe.contrib.django"`` in ``INSTALLED_APPS``.

A bad ``settings.JOBFRAME`` does not stop ``ready()``: it becomes the system check error
``jobframe.E001``, which stops ``runserver``, ``migrate``, ``check`` and ``manage.py jobframe``
like any Django settings error, while a command that runs no checks (``collectstatic`` in an image
build without ``REDIS_URL``, ``shell``) still starts; jobframe itself raises the same
`ConfigurationError` when it is first used (an enqueue, a worker).
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.module_loading import autodiscover_modules

from jobframe.errors import ConfigurationError


def install() -> None:
    """Plug the integration into jobframe (what ``ready()`` does before importing the jobs).

    Raises:
        ConfigurationError: ``settings.JOBFRAME`` has a bad key or value.
    """
    from jobframe.contrib.django import conf, connections, context, global_id, transactions

    conf.install(check=False)  # settings.JOBFRAME (checked last, once everything is plugged in)
    transactions.install()  # enqueue_after_commit on transaction.on_commit
    connections.install()  # workers close obsolete database connections around each job
    global_id.install()  # GlobalID for Django models (gid://APP/app_label.Model/pk)
    context.install()  # the active language and time zone travel with every job
    conf.check()


def uninstall() -> None:
    """Undo `install` (for test suites that run Django and non-Django tests in one process)."""
    from jobframe.contrib.django import conf, connections, context, global_id, transactions

    context.uninstall()
    global_id.uninstall()
    connections.uninstall()
    transactions.uninstall()
    conf.uninstall()


class JobframeConfig(AppConfig):
    """Loads ``settings.JOBFRAME`` and every installed app's ``jobs`` module at startup, so
    ``manage.py jobframe work`` knows every job class without an ``imports`` setting."""

    name = "jobframe.contrib.django"
    label = "jobframe"
    verbose_name = "jobframe"

    def ready(self) -> None:
        checks.register(check_settings, "jobframe")
        with contextlib.suppress(ConfigurationError):  # reported by check_settings (E001)
            install()  # and raised again when jobframe is first used
        autodiscover_modules("jobs")


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check ``jobframe.E001``: ``settings.JOBFRAME`` (or the configuration file it falls
    back to) is readable and valid; the error is jobframe's own message, which names the fix."""
    from jobframe import config

    try:
        config.settings()
    except ConfigurationError as error:
        return [checks.Error(str(error), obj="settings.JOBFRAME", id="jobframe.E001")]
    return []
