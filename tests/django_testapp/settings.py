"""A settings module for Django in subprocesses (``python -m django jobframe work``): a SQLite
file from ``DJANGO_TESTAPP_DB`` and the Redis adapter under ``DJANGO_TESTAPP_PREFIX``.

The tests' own process configures Django in ``tests/contrib/django/conftest.py`` instead.
"""

from __future__ import annotations

import os

SECRET_KEY = "jobframe-tests-not-a-real-secret-key-subprocess"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_testapp",
    "jobframe.contrib.django",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_TESTAPP_DB", ":memory:"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
JOBFRAME = {
    "adapter": "redis",
    "adapter_options": {
        "url": "redis://127.0.0.1:6379/0",
        "prefix": "${DJANGO_TESTAPP_PREFIX:-jobframe-django-testapp}",
    },
}
