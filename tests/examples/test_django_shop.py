"""examples/django_shop, run for real: ``manage.py migrate``, an order placed with
``manage.py place_order`` for a French customer in Paris, and a real ``manage.py jobframe work``
that sends the confirmation (Django's file email backend) in French with the time in Paris. On
SQLite (the default, a file) and on PostgreSQL, jobs stored in the shop's own database. Also runs
the example's own test suite, as its README says, in a subprocess.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.testing.databases import scratch_database
from jobframe.testing.workers import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django_shop"
FRENCH_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
PLACED = re.compile(
    r"Order #(?P<number>\d+) placed at (?P<at>\S+) for .*; "
    r"confirmation job (?P<job_id>[0-9a-f-]{36}) enqueued on queue 'mailers'"
)


def example_env(database_url: str, mail_dir: Path) -> dict[str, str]:
    """The shell's environment without anything that would change the example's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JOBFRAME_", "DJANGO_", "SHOP_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(DATABASE_URL=database_url, SHOP_MAIL_DIR=str(mail_dir), PYTHONUNBUFFERED="1")
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def sent_mail(mail_dir: Path) -> list[EmailMessage]:
    """What Django's file backend wrote: one file per connection, each message followed by a
    line of dashes."""
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(message_from_bytes(chunk, policy=policy.default))
    return found  # type: ignore[return-value]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for the shop (and its jobs): a SQLite file, or a PostgreSQL database
    made for the test and dropped after it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    else:
        with scratch_database("postgresql") as url:
            yield url


@pytest.mark.slow
def test_a_worker_mails_the_order_confirmation_in_french_with_the_time_in_paris(
    database_url: str, tmp_path: Path
) -> None:
    mail_dir = tmp_path / "sent_mail"
    env = example_env(database_url, mail_dir)
    manage(env, "migrate")
    manage(env, "jobframe", "db", "init")  # jobframe's tables, in the same database
    out = manage(
        env, "place_order", "--email", "amelie@example.com", "--name", "Amélie Dupont",
        "--language", "fr", "--time-zone", "Europe/Paris",
        "--item", "Théière", "--quantity", "2", "--unit-price", "19.95",
    )  # fmt: skip
    placed = PLACED.search(out)
    assert placed, out
    assert sent_mail(mail_dir) == [], "the order is placed; the mail waits for a worker"

    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "jobframe", "work", "--queues", "mailers"],
        cwd=EXAMPLE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def mail_or_dead_worker() -> list[EmailMessage]:
            if worker.poll() is not None:
                pytest.fail(f"the worker exited:\n{(tmp_path / 'worker.log').read_text()}")
            return sent_mail(mail_dir)

        [mail] = wait_until(mail_or_dead_worker, 60, "the confirmation mail")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=40) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()

    number = placed["number"]
    assert mail["To"] == "amelie@example.com"
    assert mail["Subject"] == f"Votre commande n° {number} est confirmée"
    assert mail["Message-ID"] == f"<{placed['job_id']}@shop.example.com>"
    body = mail.get_content()
    assert body.startswith("Bonjour Amélie Dupont,\n")
    assert "Article : 2 x Théière\nTotal : 39,90 EUR\n" in body
    paris = datetime.fromisoformat(placed["at"]).astimezone(ZoneInfo("Europe/Paris"))
    month = FRENCH_MONTHS[paris.month - 1]
    assert f"Commandé le : {paris.day} {month} {paris.year} {paris:%H:%M} (Europe/Paris)" in body
    worker_log = (tmp_path / "worker.log").read_text()
    assert "Performed SendOrderConfirmationJob" in worker_log
    assert "Amélie" not in worker_log, "log_arguments = False"

    sql_url = sql_url_of(database_url)
    adapter = queue_adapters.lookup("sql", url=sql_url)
    try:
        assert jobframe.job_status(placed["job_id"], adapter=adapter) == "succeeded"
    finally:
        adapter.shutdown()


def sql_url_of(database_url: str) -> str:
    """The URL the example's settings give jobframe's SQL adapter (``shop/database.py``)."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        from shop.database import jobframe_url
    finally:
        sys.path.remove(str(EXAMPLE))
    return jobframe_url(database_url)


@pytest.mark.slow
def test_the_examples_own_tests_pass(tmp_path: Path) -> None:
    """``python -m pytest`` in the example's folder, as its README says: its conftest makes
    Django's test database, its tests use the ``jobs`` fixture."""
    env = example_env(f"sqlite:///{tmp_path / 'unused.sqlite3'}", tmp_path / "sent_mail")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed[1]) >= 9, result.stdout
    assert "failed" not in result.stdout and "skipped" not in result.stdout, result.stdout
    assert not (tmp_path / "sent_mail").exists(), "the tests send to the locmem outbox"
