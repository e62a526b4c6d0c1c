"""Django, configured once per test process for every test in this folder.

The default database is PostgreSQL (``test`` on 127.0.0.1:5432; ``JOBFRAME_TEST_DJANGO_DB``
names another), so ``transaction.on_commit`` is tested on a real server; ``sqlite`` is a second
alias. Tables come from the schema editor (``django_tables``), not migrations, and are dropped
after each test that made them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

try:
    import django
except ImportError:  # under CI the dev group has it: a missing Django fails, never skips
    if os.environ.get("CI"):
        raise
    pytest.skip("Django is not installed (jobframe[django])", allow_module_level=True)

from django.conf import settings

from jobframe.testing.services import require_service

SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "jobframe-tests-not-a-real-secret-key-0123456789",
    "ALLOWED_HOSTS": ["testserver", "127.0.0.1", "localhost"],
    "USE_TZ": True,
    "TIME_ZONE": "UTC",
    "USE_I18N": True,
    "LANGUAGE_CODE": "en",
    "LANGUAGES": [("en", "English"), ("fr", "French"), ("de", "German")],
    "INSTALLED_APPS": [
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
        "django_testapp",
        "jobframe.contrib.django",
    ],
    "MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
    "ROOT_URLCONF": "django_testapp.urls",
    "DATABASES": {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("JOBFRAME_TEST_DJANGO_DB", "test"),
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
        },
        "sqlite": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    },
    "JOBFRAME": {"adapter": "test"},
}

if not settings.configured:
    settings.configure(**SETTINGS)
    django.setup()
    # The integration is plugged in for this folder's tests only (`django_integration`): the
    # rest of the suite, in the same process, reads its own configuration files.
    from jobframe.contrib.django import apps as _jobframe_apps

    _jobframe_apps.uninstall()


@pytest.fixture(autouse=True)
def django_integration() -> Iterator[None]:
    """What ``JobframeConfig.ready()`` installs (settings.JOBFRAME, on_commit...), per test."""
    from jobframe import config
    from jobframe.contrib.django import apps as jobframe_apps

    config.reset()
    jobframe_apps.install()
    try:
        yield
    finally:
        jobframe_apps.uninstall()
        config.reset()


@pytest.fixture
def django_tables() -> Iterator[None]:
    """The test app's tables (and auth's) on the default database, dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from django.apps import apps
    from django.db import connection

    made = [
        model
        for label in ("contenttypes", "auth", "sessions", "django_testapp")
        for model in apps.get_app_config(label).get_models()
    ]
    # The many-to-many tables (auth_group_permissions...) too: create_model makes them, and a
    # left-over one makes the next create_model fail.
    dropped = [
        model
        for label in ("contenttypes", "auth", "sessions", "django_testapp")
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    ]
    with connection.schema_editor() as editor:
        for model in reversed(dropped):
            editor.execute(f"DROP TABLE IF EXISTS {model._meta.db_table} CASCADE")
        for model in made:
            editor.create_model(model)
    try:
        yield
    finally:
        connection.close_if_unusable_or_obsolete()
        with connection.schema_editor() as editor:
            for model in reversed(dropped):
                editor.execute(f"DROP TABLE IF EXISTS {model._meta.db_table} CASCADE")
