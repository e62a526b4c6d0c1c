"""Enqueue jobs into a SQLite file, run a real `jobframe work` on it until they are done, and show
what happened. No server: the SQL backend's embedded default is a file (see docs/sql.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from jobs import SendWelcomeEmailJob, SyncToCRMJob

import jobframe
from jobframe import queue_adapters


def jobframe_command(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`jobframe ARGS...` in this folder (as you would type it), with the example's settings."""
    return subprocess.Popen([sys.executable, "-m", "jobframe", *args], env=env)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jobframe-quickstart-") as tmp:
        run(Path(tmp))


def run(folder: Path) -> None:
    url = f"sqlite:///{folder / 'jobs.sqlite3'}"
    outbox = folder / "outbox"
    env = {**os.environ, "JOBFRAME_ADAPTER": "sql", "JOBFRAME_URL": url}
    env["QUICKSTART_OUTBOX"] = str(outbox)
    print(f"Database: {url}", flush=True)
    assert jobframe_command("db", "init", env=env).wait() == 0  # creates the jobframe_* tables

    jobframe.configure(adapter="sql", adapter_options={"url": url})
    now = datetime.now(UTC)
    print("Enqueueing 3 welcome emails in one call, a CRM sync that fails twice first,")
    print("and one email for later:", flush=True)
    jobframe.perform_all_later(
        [SendWelcomeEmailJob(n, signed_up=now, locale="fr") for n in (1, 2, 3)]
    )
    SyncToCRMJob.perform_later(1)
    SendWelcomeEmailJob.set(wait=0.5).perform_later(4, signed_up=now)

    print("Running `jobframe work jobs` until the queues are empty:", flush=True)
    worker = jobframe_command("work", "jobs", "-c", "3", "--log-level", "WARNING", env=env)
    inspector = queue_adapters.get().inspector()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while inspector.pending():  # ready, scheduled or running, in one consistent read
        if time.monotonic() > deadline or worker.poll() is not None:
            worker.kill()
            sys.exit("the worker did not finish the jobs")
        time.sleep(0.1)  # polling the tables, as a dashboard would
    worker.send_signal(signal.SIGTERM)  # graceful shutdown
    worker.wait(30)

    print(f"Outbox: {sorted(p.name for p in outbox.glob('*.json'))}")
    runs, failed = inspector.stats()["processed"], inspector.count("dead")
    print(f"Runs (retries included): {runs}, failed jobs: {failed}")
    queue_adapters.get().shutdown()


if __name__ == "__main__":
    main()
