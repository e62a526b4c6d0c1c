"""Settings of a ``jobframe work`` process that runs the test app's Django tasks
(``DJANGO_SETTINGS_MODULE=django_testapp.worker_settings``): the jobframe task backend on the
Redis URL and key prefix the test passes in ``DJTASKS_TEST_REDIS_URL`` and
``DJTASKS_TEST_PREFIX``."""

from __future__ import annotations

import os

SECRET_KEY = "jobframe-tests-not-a-real-secret-key-0123456789"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django.contrib.contenttypes", "django_testapp"]
DATABASES: dict[str, dict[str, str]] = {}
TASKS = {
    "default": {
        "BACKEND": "jobframe.contrib.django.tasks.JobframeBackend",
        "QUEUES": ["default", "queue_1", "ordered"],
        "OPTIONS": {
            "ADAPTER": "redis",
            "ADAPTER_OPTIONS": {
                "url": os.environ.get("DJTASKS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
                "prefix": os.environ.get("DJTASKS_TEST_PREFIX", "jfdjtasks"),
            },
        },
    }
}
