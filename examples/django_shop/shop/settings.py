"""Settings of the shop, a small Django project whose order confirmations are sent by a job.

Everything a deployment changes comes from the environment:

- ``DATABASE_URL``: ``sqlite:///...`` (default: ``db.sqlite3`` in this folder) or
  ``postgresql://...``. Jobs are stored in the same database by jobframe's SQL adapter.
- ``REDIS_URL``: when set, jobs go to Redis instead, under the key prefix ``REDIS_PREFIX``
  (default ``django_shop``).
- ``SHOP_MAIL_DIR``: where the file email backend writes the mail it "sends" (default ``sent_mail/``
  in this folder).
- ``DJANGO_SECRET_KEY``, ``DJANGO_DEBUG``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import django
from django.utils.translation import gettext_lazy as _

from shop.database import django_database, jobframe_url

BASE_DIR = Path(__file__).resolve().parent.parent

# A development key: production sets DJANGO_SECRET_KEY (it also signs the GlobalIDs of jobs).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-shop-example-not-a-secret-0123456789")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "jobframe.contrib.django",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "shop.urls"
ASGI_APPLICATION = "shop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": django_database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Internationalization: the site speaks English and French; each customer has a language and a
# time zone, which the confirmation job renders its mail in (captured when the job is enqueued).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS: list[Path] = []  # the catalog is the app's own: orders/locale/
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
LOGIN_URL = "admin:login"  # where the dashboard at /jobs/ sends a visitor who is not logged in

# The file backend writes each mail to a file instead of sending it: look in sent_mail/.
MAIL_DIR = os.environ.get("SHOP_MAIL_DIR", str(BASE_DIR / "sent_mail"))
FILE_MAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
if django.VERSION >= (6, 1):  # MAILERS replaces the EMAIL_* settings
    MAILERS = {"default": {"BACKEND": FILE_MAIL_BACKEND, "OPTIONS": {"file_path": MAIL_DIR}}}
else:
    EMAIL_BACKEND = FILE_MAIL_BACKEND
    EMAIL_FILE_PATH = MAIL_DIR
DEFAULT_FROM_EMAIL = "Django Shop <shop@example.com>"

# jobframe: the same keys as [tool.jobframe] in a pyproject.toml, environments included
# (JOBFRAME_ENV picks one). Jobs are stored in the shop's own database, or in Redis.
JOBFRAME: dict[str, Any] = {
    "global_id_app": "shop",
    "enqueue_after_commit": True,
    "log_arguments": False,  # customers' names and addresses stay out of the logs
}
if os.environ.get("REDIS_URL"):
    JOBFRAME |= {
        "adapter": "redis",
        "adapter_options": {
            "url": os.environ["REDIS_URL"],
            "prefix": os.environ.get("REDIS_PREFIX", "django_shop"),
        },
    }
else:
    JOBFRAME |= {"adapter": "sql", "adapter_options": {"url": jobframe_url(DATABASE_URL)}}
