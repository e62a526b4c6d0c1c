"""``manage.py jobframe ...`` runs the real ``jobframe`` command with Django set up: a worker
started as ``python -m django jobframe work --processes 2`` performs a job the test enqueued, in
children that set Django up too and know the job classes of every app's ``jobs`` module."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

import jobframe
from jobframe.contrib.django.management.commands.jobframe import jobframe_argv
from jobframe.testing.services import require_service
from jobframe.testing.workers import wait_until

TESTS = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a Django project on a SQLite file and its own Redis prefix."""
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"djcore-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "django_testapp.settings",
        "PYTHONPATH": str(TESTS),
        "DJANGO_TESTAPP_DB": str(tmp_path / "app.sqlite3"),
        "DJANGO_TESTAPP_PREFIX": prefix,
    }
    yield env
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def _django(
    env: dict[str, str], *argv: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_help_is_the_jobframe_commands(project: dict[str, str]) -> None:
    done = _django(project, "jobframe", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m django jobframe")
    assert "work" in done.stdout and "dashboard" in done.stdout and "recurring" in done.stdout
    work = _django(project, "jobframe", "work", "--help")
    assert work.returncode == 0, work.stderr
    assert "usage: python -m django jobframe work" in work.stdout and "--processes" in work.stdout


def test_a_jobframe_error_is_the_exit_status(project: dict[str, str]) -> None:
    done = _django(project, "jobframe", "work", "--concurrency", "0")
    assert done.returncode == 1
    assert "jobframe: error: --concurrency and --processes must be at least 1" in done.stderr


def test_the_commands_read_settings_jobframe(project: dict[str, str]) -> None:
    from django_testapp.jobs import RecordNameJob

    prefix = project["DJANGO_TESTAPP_PREFIX"]  # interpolated into settings.JOBFRAME's options
    jobframe.configure(
        adapter="redis", adapter_options={"url": "redis://127.0.0.1:6379/0", "prefix": prefix}
    )
    RecordNameJob.set(queue="django-listed").perform_later("waiting")
    done = _django(project, "jobframe", "queues")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^django-listed\s+1\s", done.stdout, re.MULTILINE), done.stdout


@pytest.mark.slow
def test_a_worker_with_two_processes_performs_jobs_through_django(
    project: dict[str, str],
) -> None:
    migrated = _django(project, "migrate", "--run-syncdb", "--verbosity", "0")
    assert migrated.returncode == 0, migrated.stderr
    from django_testapp.jobs import RecordNameJob

    prefix = project["DJANGO_TESTAPP_PREFIX"]
    jobframe.configure(
        adapter="redis", adapter_options={"url": "redis://127.0.0.1:6379/0", "prefix": prefix}
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "django", "jobframe", "work", "--processes", "2",
         "--concurrency", "1", "--queues", "*"],
        env=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        jobframe.perform_all_later([RecordNameJob(f"name-{n}") for n in range(6)])
        db = project["DJANGO_TESTAPP_DB"]

        def rows() -> list[tuple[str, str]]:
            with sqlite3.connect(db, timeout=5) as conn:
                found = conn.execute("SELECT name, email FROM django_testapp_customer").fetchall()
            return found if len(found) == 6 else []

        done = wait_until(rows, timeout=60, what="the worker's children to perform 6 jobs")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            output, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    assert sorted(name for name, _ in done) == [f"name-{n}" for n in range(6)]
    pids = {email for _, email in done}
    assert f"pid-{worker.pid}" not in pids, "performed by the children, not the supervisor"
    assert worker.returncode == 0, output


def test_call_command_runs_the_cli_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("jobframe", "plugins", "--json")
    assert '"adapters"' in capsys.readouterr().out


def test_processes_need_a_settings_module_children_can_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)  # settings.configure() here
    with pytest.raises(CommandError, match="DJANGO_SETTINGS_MODULE, but it is not set"):
        call_command("jobframe", "work", "--processes", "2", "--concurrency", "0")
    with pytest.raises(CommandError) as one:  # one process: no children, the CLI's own error
        call_command("jobframe", "work", "--processes=1", "--concurrency", "0")
    assert one.value.returncode == 1


def test_djangos_own_options_are_not_passed_on() -> None:
    argv = [
        "work",
        "--settings",
        "app.settings",
        "--pythonpath=/srv",
        "-q",
        "*",
        "--pythonpath",
        "x",
    ]
    assert jobframe_argv(argv) == ["work", "-q", "*"]
