"""Recurring tasks in the command line (issue #13): ``jobframe work`` runs the scheduler beside
the worker (``--no-recurring`` turns it off, ``--processes N`` runs one), ``jobframe scheduler``
runs it alone, ``jobframe recurring list|run``, and the start-up errors, with real processes.

The worker and scheduler tests need a durable backend that runs recurring tasks; Redis is the
one whichever SQL database runs, so they use it (the backend's own guarantees are the
conformance suite's: `jobframe.testing.conformance.recurring_processes`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from jobframe import queue_adapters
from jobframe.cli import main
from jobframe.recurrence import store_of
from jobframe.testing.conformance.recurring_processes import jobs_by_tick
from jobframe.testing.reliability_jobs import SleepJob
from jobframe.testing.workers import Journal, Workers, wait_until, write_config
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.testing import redis_adapter

RECORDING = "jobframe.testing.conformance_jobs:RecordingJob"
JOBS = ("jobframe.testing.reliability_jobs", "jobframe.testing.conformance_jobs")


def recurring_table(name: str, journal: str, **keys: Any) -> str:
    """``[recurring.NAME]``: an every-second `RecordingJob` writing to ``journal``, with ``keys``
    over those defaults."""
    table = {"job": RECORDING, "schedule": "every second", "args": [journal, "tick"], **keys}
    lines = [f"[recurring.{json.dumps(name)}]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    return "\n" + "\n".join(lines) + "\n"


@pytest.fixture
def redis() -> Iterator[RedisAdapter]:
    with redis_adapter(label="jfrec") as made, queue_adapters.override(made):
        yield made


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


@pytest.fixture
def ticks(tmp_path: Path) -> str:
    """The journal of task ``tick``'s jobs (`RecordingJob` lines; `Journal` reads the others)."""
    return str(tmp_path / "ticks.jsonl")


@pytest.fixture
def project(tmp_path: Path, redis: RedisAdapter, ticks: str) -> Path:
    """A folder whose ``jobframe.toml`` selects the test's Redis and declares task ``tick``."""
    folder = tmp_path / "project"
    write_config(folder, "redis", **redis.options)
    with (folder / "jobframe.toml").open("a") as config:
        config.write(recurring_table("tick", ticks))
    return folder


@pytest.fixture
def workers(project: Path) -> Iterator[Workers]:
    pool = Workers(project, jobs=JOBS, concurrency=2)
    try:
        yield pool
    finally:
        pool.close()
        print(f"worker logs (tails):\n{pool.logs()}")  # shown on failure


def command(folder: Path, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``jobframe ARGV`` in ``folder`` to its end, without the test's JOBFRAME_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
    return subprocess.run([sys.executable, "-m", "jobframe", *argv], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


def claimed(redis: RedisAdapter, name: str = "tick") -> datetime | None:
    run = store_of(redis).last_runs().get(name)
    return run.tick if run else None


@pytest.mark.slow
def test_work_runs_the_scheduler_and_stops_it_before_jobs_drain(
    workers: Workers, journal: Journal, ticks: str, redis: RedisAdapter
) -> None:
    proc = workers.start("--shutdown-timeout", "10")
    wait_until(lambda: len(jobs_by_tick(ticks, "tick")) >= 2, 30, "two ticks to run")
    long = SleepJob.perform_later(journal.name, 2.5)
    wait_until(lambda: journal.started(long.job_id), 20, "the long job to start")
    stopped_at = datetime.now(UTC)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert journal.ended()[long.job_id] == 1, "the running job was not let finish"
    last = claimed(redis)
    assert last is not None and last <= stopped_at, (
        f"the scheduler claimed {last} while the worker drained (SIGTERM at {stopped_at})"
    )
    assert "Scheduler started: 1 recurring task(s) on redis: tick" in workers.logs()


@pytest.mark.slow
def test_no_recurring_runs_no_scheduler(
    workers: Workers, journal: Journal, redis: RedisAdapter
) -> None:
    workers.start("--no-recurring")
    # An every-second scheduler started with the worker would have claimed a tick by the time a
    # 1.5 s job it ran has ended.
    witness = SleepJob.perform_later(journal.name, 1.5)
    wait_until(lambda: journal.ended()[witness.job_id], 30, "the witness job to run")
    assert claimed(redis) is None
    assert "Scheduler started" not in workers.logs()


@pytest.mark.slow
def test_processes_run_one_scheduler_per_command(workers: Workers, ticks: str) -> None:
    workers.start("--processes", "3", concurrency=1)
    wait_until(lambda: workers.logs().count(" started: queues=") == 3, 40, "three workers")
    wait_until(lambda: jobs_by_tick(ticks, "tick"), 20, "a tick to run")
    assert workers.logs().count("Scheduler started") == 1


@pytest.mark.slow
def test_scheduler_enqueues_ticks_and_works_no_jobs(
    project: Path, ticks: str, redis: RedisAdapter
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
    proc = subprocess.Popen([sys.executable, "-m", "jobframe", "scheduler"], cwd=project, env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_until(lambda: claimed(redis), 30, "the scheduler to claim a tick")
        ready = redis.inspector().jobs("ready")
        assert [info.job_class for info in ready][:1] == ["jobframe.conformance.RecordingJob"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        proc.kill()
        stderr = proc.communicate()[1]
    assert not jobs_by_tick(ticks, "tick"), "jobframe scheduler performed a job"
    assert "Scheduler started" in stderr and "Scheduler stopped" in stderr


BAD_TASKS: dict[str, tuple[dict[str, Any], str]] = {
    "schedule": ({"schedule": "every fortnight"}, "schedule"),
    "timezone": ({"timezone": "Mars/Olympus_Mons"}, "Mars/Olympus_Mons"),
    "job": ({"job": "no_such_module:Job"}, "cannot import 'no_such_module'"),
    "args": ({"args": []}, "missing a required argument: 'journal'"),
}


@pytest.mark.parametrize("bad", sorted(BAD_TASKS))
@pytest.mark.parametrize("argv", [["work"], ["work", "--processes", "2"], ["scheduler"]])
def test_a_bad_task_stops_the_command_at_start_naming_it(
    project: Path, bad: str, argv: list[str]
) -> None:
    keys, words = BAD_TASKS[bad]
    with (project / "jobframe.toml").open("a") as config:
        config.write(recurring_table("broken", "journal", **keys))
    started = time.monotonic()
    result = command(project, *argv, *JOBS)
    assert result.returncode == 1, result.stderr
    assert "jobframe: error: recurring task 'broken'" in result.stderr
    assert words in result.stderr
    assert time.monotonic() - started < 30


def test_a_priority_on_an_adapter_without_priorities_is_refused(tmp_path: Path) -> None:
    write_config(tmp_path, "inline")
    with (tmp_path / "jobframe.toml").open("a") as config:
        config.write(recurring_table("urgent", "journal", priority=1))
    result = command(tmp_path, "scheduler", *JOBS)
    assert result.returncode == 1
    assert "recurring task 'urgent'" in result.stderr
    assert "sets priority = 1" in result.stderr and "'inline' adapter cannot" in result.stderr


@pytest.fixture
def rabbitmq_project(tmp_path: Path) -> Path:
    """Tasks on the RabbitMQ plugin (no recurring support), its server a closed port."""
    write_config(tmp_path, "rabbitmq", url="amqp://guest:guest@127.0.0.1:1/")
    with (tmp_path / "jobframe.toml").open("a") as config:
        config.write(recurring_table("tick", "journal") + recurring_table("tock", "journal"))
    return tmp_path


@pytest.mark.slow
def test_work_on_an_adapter_without_recurring_warns_once_and_goes_on(
    rabbitmq_project: Path,
) -> None:
    pool = Workers(rabbitmq_project, jobs=JOBS)
    try:
        proc = pool.start()
        warning = "2 recurring task(s) will not run (tick, tock): the 'rabbitmq' adapter cannot"
        wait_until(lambda: warning in pool.logs(), 30, "the warning")
        assert pool.logs().count("will not run") == 1
        assert "--no-recurring" in pool.logs()
        assert proc.poll() is None, "the worker did not go on"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        pool.close()


@pytest.mark.parametrize("words", [("scheduler",), ("recurring", "list")])
def test_scheduler_and_list_on_an_adapter_without_recurring_exit_2(
    rabbitmq_project: Path, words: tuple[str, ...]
) -> None:
    result = command(rabbitmq_project, *words, *JOBS)
    assert result.returncode == 2
    assert (
        "2 recurring task(s) will not run (tick, tock): the 'rabbitmq' adapter cannot run "
        "recurring tasks" in result.stderr
    )


def test_recurring_list_and_run(
    project: Path,
    redis: RedisAdapter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(project)
    with (project / "jobframe.toml").open("a") as config:
        config.write(recurring_table("nightly", "journal", schedule="30 2 * * *",
                                     timezone="Europe/Berlin"))  # fmt: skip
    assert main(["recurring", "list", *JOBS]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "NEXT", "RUN", "LAST", "RUN",
                                "STATE"]  # fmt: skip
    assert lines[1].startswith("nightly ") and "At 02:30 every day (30 2 * * *)" in lines[1]
    assert "Europe/Berlin" in lines[1]
    assert lines[2].startswith("tick ") and "Every second (every second)" in lines[2]

    tick = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    store_of(redis).claim("nightly", tick, make_job("nightly", tick))
    assert main(["recurring", "list", "--json", *JOBS]) == 0
    listed = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["nightly"]["last_run"] == "2026-03-29T00:30:00+00:00"
    assert listed["nightly"]["last_state"] == "ready"
    assert listed["nightly"]["timezone"] == "Europe/Berlin"
    assert listed["tick"]["last_run"] is None and listed["tick"]["last_state"] is None

    assert main(["recurring", "run", "tick", *JOBS]) == 0
    job_id = capsys.readouterr().out.strip()
    ready = [info for info in redis.inspector().jobs("ready") if info.job_id == job_id]
    assert len(ready) == 1, f"job {job_id} was not enqueued"

    assert main(["recurring", "run", "nosuch", *JOBS]) == 2
    err = capsys.readouterr().err
    assert "no recurring task named 'nosuch'; known: nightly, tick" in err


def make_job(name: str, tick: datetime) -> Any:
    from jobframe.recurrence import tasks

    return next(task for task in tasks() if task.name == name).job(tick)
