"""examples/django_shop, run for real: ``manage.py migrate``, an order placed with
``manage.py place_order`` for a French customer in Paris, and a real ``manage.py jobframe work``
that sends the confirmation (Django's file email backend) in French with the time in Paris. On
SQLite (the default, a file) and PostgreSQL, jobs stored in the shop's own database, and with the
jobs in Redis. The commands are the README's. Also runs the example's own test suite, as its
README says, in a subprocess.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.testing.databases import REDIS_URL as SERVER_REDIS_URL
from jobframe.testing.databases import scratch_database
from jobframe.testing.services import require_service
from jobframe.testing.workers import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django_shop"
FRENCH_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
# The test server, database 15: a prefix of the test's own there, even while someone runs the
# example on database 0 of the same server.
REDIS_URL = urlsplit(SERVER_REDIS_URL)._replace(path="/15").geturl()
PLACED = re.compile(
    r"Order #(?P<number>\d+) placed at (?P<at>\S+) for .*; "
    r"confirmation job (?P<job_id>[0-9a-f-]{36}) enqueued on queue 'mailers'"
)


@dataclass
class Store:
    """Where the example keeps orders (``DATABASE_URL``) and jobs (the same database, or Redis
    when ``REDIS_URL`` is set), and how this process reads the jobs' status there."""

    env: dict[str, str]
    adapter: str
    options: dict[str, str]


def example_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The shell's environment without anything that would change the example's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JOBFRAME_", "DJANGO_", "SHOP_", "REDIS_")) and k != "DATABASE_URL"
    }
    env.update(SHOP_MAIL_DIR=str(tmp_path / "sent_mail"), PYTHONUNBUFFERED="1", **variables)
    return env


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Empty stores: a SQLite file or a PostgreSQL database made for the test (and dropped after
    it) holding the orders and the jobs, or a SQLite file and a Redis key prefix of the test's own
    (on database 15, deleted after it)."""
    sqlite = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    if request.param == "sqlite":
        yield Store(example_env(tmp_path, DATABASE_URL=sqlite), "sql", {"url": sql_url_of(sqlite)})
    elif request.param == "postgresql":
        with scratch_database("postgresql") as url:
            yield Store(example_env(tmp_path, DATABASE_URL=url), "sql", {"url": sql_url_of(url)})
    else:
        require_service("Redis", "127.0.0.1", 6379)
        redis = {"url": REDIS_URL, "prefix": f"django_shop_{uuid.uuid4().hex[:8]}"}
        env = example_env(
            tmp_path, DATABASE_URL=sqlite, REDIS_URL=redis["url"], REDIS_PREFIX=redis["prefix"]
        )
        try:
            yield Store(env, "redis", redis)
        finally:
            delete_redis_prefix(redis["prefix"])


def delete_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def sql_url_of(database_url: str) -> str:
    """The URL the example's settings give jobframe's SQL adapter (``shop/database.py``)."""
    spec = importlib.util.spec_from_file_location("shop_database", EXAMPLE / "shop/database.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    url: str = module.jobframe_url(database_url)
    return url


def readme_commands() -> list[list[str]]:
    """The commands of the README's "Run it" block, one argument list each."""
    readme = (EXAMPLE / "README.md").read_text()
    block = readme.split("## Run it\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.replace("\\\n", " ").splitlines()
    return [words for words in (shlex.split(line, comments=True) for line in lines) if words]


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


def test_the_readme_runs_migrate_place_order_and_a_worker() -> None:
    commands = [words[2:4] for words in readme_commands() if words[:2] == ["python", "manage.py"]]
    assert commands == [
        ["migrate"], ["jobframe", "db"], ["place_order", "--email"], ["jobframe", "work"]
    ], readme_commands()  # fmt: skip
    assert readme_commands()[-1] == ["cat", "sent_mail/*.log"]


@pytest.mark.slow
def test_a_worker_mails_the_order_confirmation_in_french_with_the_time_in_paris(
    store: Store, tmp_path: Path
) -> None:
    env, mail_dir = store.env, Path(store.env["SHOP_MAIL_DIR"])
    *setup, place, work = [c[2:] for c in readme_commands() if c[:2] == ["python", "manage.py"]]
    for command in setup:
        if command[:2] == ["jobframe", "db"] and store.adapter != "sql":
            continue  # jobframe's tables: only when the jobs are in SQL
        manage(env, *command)
    placed = PLACED.search(manage(env, *place))
    assert placed, "place_order printed no order"
    assert sent_mail(mail_dir) == [], "the order is placed; the mail waits for a worker"

    log_path = tmp_path / "worker.log"
    log = log_path.open("wb")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", *work],
        cwd=EXAMPLE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def mail_or_dead_worker() -> list[EmailMessage]:
            if worker.poll() is not None:
                pytest.fail(f"the worker exited:\n{log_path.read_text()}")
            return sent_mail(mail_dir)

        [mail] = wait_until(mail_or_dead_worker, 60, "the confirmation mail")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=40) == 0, log_path.read_text()
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
    worker_log = log_path.read_text()
    assert "Performed SendOrderConfirmationJob" in worker_log
    assert "Amélie" not in worker_log, "log_arguments = False"

    adapter = queue_adapters.lookup(store.adapter, **store.options)
    try:
        assert jobframe.job_status(placed["job_id"], adapter=adapter) == "succeeded"
    finally:
        adapter.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("server", ["sqlite", "postgresql"])
def test_the_examples_own_tests_pass(server: str, tmp_path: Path) -> None:
    """``python -m pytest`` in the example's folder, as its README says: its conftest makes
    Django's test database for ``DATABASE_URL`` (``test_<name>`` on PostgreSQL, dropped at the
    end), its tests use the ``jobs`` fixture."""
    if server == "postgresql":
        require_service("PostgreSQL", "127.0.0.1", 5432)
        url = f"postgresql://postgres@127.0.0.1:5432/djshop_{uuid.uuid4().hex[:12]}"
    else:
        url = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=EXAMPLE,
        env=example_env(tmp_path, DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed[1]) >= 10, result.stdout
    assert "failed" not in result.stdout and "skipped" not in result.stdout, result.stdout
    assert not (tmp_path / "sent_mail").exists(), "the tests send to the locmem outbox"
