"""``"jobframe.contrib.django"`` in INSTALLED_APPS: its app config, and what ``ready()`` did."""

from __future__ import annotations

import sys

import pytest
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


def test_a_bad_setting_is_system_check_e001_and_fails_at_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An interpolated variable missing at build time (``collectstatic`` in an image without
    ``REDIS_URL``) must not stop every command: ``ready()`` goes on, the system check reports
    it (stopping ``check``, ``migrate``, ``runserver``, ``manage.py jobframe``), and jobframe
    raises it when first used."""
    from django.core import checks
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError
    from django.test import override_settings
    from django_testapp.jobs import GreetCustomerJob

    import jobframe
    from jobframe.contrib.django import apps as jobframe_apps

    monkeypatch.delenv("JF_TEST_MISSING_URL", raising=False)
    table = {"adapter": "redis", "adapter_options": {"url": "${JF_TEST_MISSING_URL}"}}
    app = apps.get_app_config("jobframe")
    with override_settings(JOBFRAME=table):
        jobframe_apps.uninstall()
        config.reset()
        app.ready()  # does not raise
        assert conf.installed()
        [error] = checks.run_checks(tags=["jobframe"])
        assert error.id == "jobframe.E001" and error.level == checks.ERROR
        assert "environment variable JF_TEST_MISSING_URL is not set" in error.msg
        with pytest.raises(SystemCheckError, match=r"jobframe\.E001"):
            call_command("check")
        with pytest.raises(jobframe.ConfigurationError, match="JF_TEST_MISSING_URL"):
            GreetCustomerJob.perform_later(1)
        monkeypatch.setenv("JF_TEST_MISSING_URL", "redis://127.0.0.1:6379/0")
        config.reload()
        assert checks.run_checks(tags=["jobframe"]) == []
    assert checks.run_checks(tags=["jobframe"]) == []
