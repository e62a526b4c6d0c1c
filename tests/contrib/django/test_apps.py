"""``"jobframe.contrib.django"`` in INSTALLED_APPS: its app config, and what ``ready()`` did."""

from __future__ import annotations

import sys

from django.apps import apps

from jobframe import config, registry
from jobframe.contrib.django import conf
from jobframe.contrib.django.apps import JobframeConfig


def test_the_app_is_labelled_jobframe() -> None:
    app = apps.get_app_config("jobframe")
    assert isinstance(app, JobframeConfig)
    assert app.name == "jobframe.contrib.django"


def test_ready_imported_every_apps_jobs_module() -> None:
    assert "django_testapp.jobs" in sys.modules
    from django_testapp.jobs import GreetCustomerJob

    assert registry.lookup(registry.name_of(GreetCustomerJob)) is GreetCustomerJob


def test_ready_installs_the_settings_and_uninstall_undoes_it() -> None:
    app = apps.get_app_config("jobframe")
    from jobframe.contrib.django import apps as jobframe_apps

    jobframe_apps.uninstall()
    assert not conf.installed()
    app.ready()
    assert conf.installed() and config.settings().source == "settings.JOBFRAME"
