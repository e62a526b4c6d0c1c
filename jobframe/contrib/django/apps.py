"""The Django app: ``"jobframe.contrib.django"`` in ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


def install() -> None:
    """Plug the integration into jobframe (what ``ready()`` does before importing the jobs).

    Raises:
        ConfigurationError: ``settings.JOBFRAME`` has a bad key or value.
    """
    from jobframe.contrib.django import conf, connections, context, global_id, transactions

    conf.install()  # settings.JOBFRAME, checked now: a bad setting stops startup
    transactions.install()  # enqueue_after_commit on transaction.on_commit
    connections.install()  # workers close obsolete database connections around each job
    global_id.install()  # GlobalID for Django models (gid://APP/app_label.Model/pk)
    context.install()  # the active language and time zone travel with every job


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
        install()
        autodiscover_modules("jobs")
