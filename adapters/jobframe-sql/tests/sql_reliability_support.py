"""Helpers and fixtures of the SQL reliability tests: worker subprocesses, polling, journals.

Workers run as real processes (``python -m jobframe work sql_reliability_jobs``) in the test's
temporary folder, which holds a ``jobframe.toml`` pointing them at the test's database (the
``sql_url`` fixture: a fresh SQLite file, PostgreSQL or MariaDB database). Every process a test
starts is killed (with its process group) at teardown, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import jobs

HERE = Path(__file__).resolve().parent
HEARTBEAT = ["--heartbeat-interval", "0.2", "--heartbeat-timeout", "1.5"]
QUIET = ["--log-level", "WARNING"]


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def write_config(folder: Path, url: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "jobframe.toml").write_text(f'adapter = "sql"\n\n[adapter_options]\nurl = "{url}"\n')


class Journal:
    """The JSON lines the jobs in `sql_reliability_jobs` append."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)

    def lines(self, event: str | None = None) -> list[dict[str, Any]]:
        from sql_reliability_jobs import read

        return [line for line in read(self.path) if event is None or line["event"] == event]

    def ended(self) -> Counter[str]:
        return Counter(line["job_id"] for line in self.lines("end"))

    def started(self, job_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines("start") if line["job_id"] == job_id]


class Workers:
    """Starts worker subprocesses of one test and kills whatever is left of them at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes]] = []
        self.kills: dict[int, float] = {}  # pid -> time.time() just before we SIGKILLed it

    def start(self, *args: str, concurrency: int = 4) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
        command = [
            sys.executable,
            "-m",
            "jobframe",
            "work",
            "sql_reliability_jobs",
            "--queues",
            "*",
            "--concurrency",
            str(concurrency),
            *HEARTBEAT,
            *args,
        ]
        log = open(self.folder / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                command,
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL one worker process (not its group: a supervisor's children live on)."""
        self.kills[proc.pid] = time.time()
        proc.kill()
        proc.wait(10)

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.folder.glob("worker-*.log"))
        )

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(name="workdir")
def workdir_fixture(tmp_path: Path, sql_url: str) -> Path:
    write_config(tmp_path, sql_url)
    return tmp_path


@pytest.fixture(name="journal")
def journal_fixture(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


@pytest.fixture(name="workers")
def workers_fixture(workdir: Path) -> Iterator[Workers]:
    pool = Workers(workdir)
    try:
        yield pool
    finally:
        pool.close()
        print(f"worker logs (tails), kills {pool.kills}:\n{pool.logs()}")  # shown if it failed


def counts(adapter: SQLAdapter) -> dict[str, int]:
    inspector = adapter.inspector()
    return {state: inspector.count(state) for state in ("ready", "scheduled", "running", "dead")}


def idle(dead: int = 0) -> dict[str, int]:
    """What `counts` is once every job has run."""
    return {"ready": 0, "scheduled": 0, "running": 0, "dead": dead}


def stored(adapter: SQLAdapter, id: str) -> Any:
    """The ``jobframe_jobs`` row of one enqueue, read straight from the table."""
    with adapter.engine.connect() as conn:
        return conn.execute(sa.select(jobs).where(jobs.c.id == id)).one()


def enqueue_in_chunks(jobs_: list[Any], chunk: int = 2000) -> None:
    import jobframe

    for start in range(0, len(jobs_), chunk):
        part = jobs_[start : start + chunk]
        assert jobframe.perform_all_later(part) == len(part)
