"""`RedisAdapter.check`, ``jobframe doctor`` and the start WARNING of ``jobframe work`` (issue #11,
item 13).

Each test starts its own redis-server on a spare loopback port with the settings under test: the
shared server on 6379 is never reconfigured.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jobframe.cli import main
from jobframe.testing.environment import configured
from jobframe.testing.services import redis_server
from jobframe.testing.workers import wait_until
from jobframe_redis.adapter import RedisAdapter

UNSAFE = ("--save", "", "--appendonly", "no")
SECRET = "hunter2-doctor-secret"

StartRedis = Callable[..., str]


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[StartRedis]:
    """Start a private redis-server with the given arguments; return its URL. Stopped afterwards."""
    with contextlib.ExitStack() as stack:
        numbers = itertools.count()

        def start(*settings: str, password: str | None = None) -> str:
            folder = tmp_path / f"redis-{next(numbers)}"
            folder.mkdir()
            return stack.enter_context(redis_server(folder, *settings, password=password)).url

        yield start


def problems_of(url: str) -> list[str]:
    adapter = RedisAdapter(url)
    try:
        return [str(problem) for problem in adapter.check()]
    finally:
        adapter.shutdown()


def doctor(url: str, monkeypatch: pytest.MonkeyPatch) -> int:
    with configured(monkeypatch, "redis", url):
        return main(["doctor"])


@pytest.mark.parametrize(
    "settings",
    [
        ("--appendonly", "yes", "--save", ""),
        ("--appendonly", "no", "--save", "60 1"),
        ("--appendonly", "yes", "--maxmemory-policy", "noeviction"),
    ],
    ids=["aof", "rdb", "aof-noeviction"],
)
def test_a_server_that_keeps_jobs_has_no_problems(
    start_redis: StartRedis,
    settings: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = start_redis(*settings)

    assert problems_of(url) == []
    assert doctor(url, monkeypatch) == 0
    assert capsys.readouterr().out == "redis: no problems found\n"


def test_a_server_without_aof_or_save_points_is_reported(
    start_redis: StartRedis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = start_redis(*UNSAFE)

    [problem] = problems_of(url)
    assert "has neither AOF nor RDB save points" in problem
    assert "appendonly yes" in problem and "docs/redis.md" in problem
    assert doctor(url, monkeypatch) == 1
    out = capsys.readouterr().out
    assert out.startswith("redis: 1 problem(s)\n") and "fix: turn on AOF" in out


def test_an_evicting_server_is_reported(start_redis: StartRedis) -> None:
    url = start_redis("--appendonly", "yes", "--maxmemory-policy", "allkeys-lru")

    [problem] = problems_of(url)
    assert "maxmemory-policy allkeys-lru" in problem
    assert "set maxmemory-policy noeviction" in problem


def test_both_problems_are_reported_together(start_redis: StartRedis) -> None:
    url = start_redis(*UNSAFE, "--maxmemory-policy", "volatile-ttl")

    problems = problems_of(url)
    assert len(problems) == 2
    assert "neither AOF nor RDB" in problems[0] and "volatile-ttl" in problems[1]


def test_the_password_is_never_printed(
    start_redis: StartRedis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = start_redis(*UNSAFE, password=SECRET)

    assert doctor(url, monkeypatch) == 1
    out, err = capsys.readouterr()
    assert "neither AOF nor RDB" in out
    assert SECRET not in out + err
    assert "Redis at 127.0.0.1:" in out


def test_an_unreachable_server_is_a_problem_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:1/0"

    [problem] = problems_of(url)
    assert "Redis at 127.0.0.1:1 db 0 cannot be reached" in problem
    assert doctor(url, monkeypatch) == 1
    out, err = capsys.readouterr()
    assert "fix: start the server or fix the adapter's url" in out
    assert SECRET not in out + err and "Traceback" not in out + err


@pytest.mark.parametrize("safe", [False, True], ids=["unsafe", "safe"])
def test_jobframe_work_warns_at_start_on_an_unsafe_server(
    start_redis: StartRedis, tmp_path: Path, safe: bool
) -> None:
    url = start_redis(*(("--appendonly", "yes") if safe else UNSAFE), password=SECRET)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBFRAME_", "QUEUE"))}
    env.update(JOBFRAME_ADAPTER="redis", JOBFRAME_URL=url)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobframe", "work", "--concurrency", "1"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # The worker's own start line comes after the check: once it is there, so is any warning.
        wait_until(lambda: "started" in log.read_text(), 30, "the worker's start line")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    lines = log.read_text().splitlines()
    warnings = [line for line in lines if " WARNING jobframe.doctor:" in line]
    assert SECRET not in log.read_text()
    if safe:
        assert warnings == []
    else:
        [warning] = warnings
        assert "the redis backend has 1 problem(s)" in warning
        assert "neither AOF nor RDB save points" in warning
        assert "jobframe doctor" in warning


def test_a_server_without_blmove_is_named_by_its_version() -> None:
    from jobframe_redis.doctor import _older

    assert _older("6.0.16", (6, 2)) and _older("5.0.7", (6, 2))
    assert not _older("6.2.0", (6, 2)) and not _older("7.0.15", (6, 2))
    assert not _older("unstable", (6, 2)), "an unreadable version is not reported"
