"""Django set up for the shop's tests, on a test database of their own.

The database is Django's test database for ``DATABASE_URL`` (an in-memory SQLite by default,
``test_<name>`` on PostgreSQL), made with the migrations and destroyed at the end, as
``manage.py test`` does. Tests commit for real (``transaction.on_commit`` must fire), so every
table is emptied after each test; mail goes to ``django.core.mail.outbox``.

Jobs: a test that asks for the ``jobs`` fixture gets them in jobframe's test adapter. The others
(the dashboard's) enqueue into a SQLite file of the test run's own, never the shop's database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import django
import pytest

import jobframe

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django.setup()

from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402
from orders.models import Customer, Order  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def test_database() -> Iterator[None]:
    setup_test_environment()  # the locmem email backend, among others
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    yield
    connection.creation.destroy_test_db(name, verbosity=0)
    teardown_test_environment()


@pytest.fixture(scope="session", autouse=True)
def test_job_store(tmp_path_factory: pytest.TempPathFactory) -> None:
    jobs_file = tmp_path_factory.mktemp("jobs") / "jobs.sqlite3"
    jobframe.configure(adapter="sql", adapter_options={"url": f"sqlite:///{jobs_file}"})
    call_command("jobframe", "db", "init")


@pytest.fixture(autouse=True)
def empty_tables_and_outbox() -> Iterator[None]:
    mail.outbox.clear()
    yield
    Order.objects.all().delete()
    Customer.objects.all().delete()


@pytest.fixture
def amelie() -> Customer:
    return Customer.objects.create(
        name="Amélie Dupont",
        email="amelie@example.com",
        language="fr",
        time_zone="Europe/Paris",
    )


@pytest.fixture
def bob() -> Customer:
    return Customer.objects.create(
        name="Bob Smith", email="bob@example.com", language="en", time_zone="America/New_York"
    )
