"""The case reported in issue #11: a ~2 KB payload of 1,000 nested lists, written by another
producer into a queue between good jobs. ``json.loads`` raised `RecursionError` in the fetch
path, the job thread died with the fetch flag set, every other thread waited forever while the
process kept heartbeating, and the dashboard and CLI answered with errors. Now: the pages and
commands work while it waits, a real ``jobframe work`` process runs the good jobs and makes it
dead with the reason, and SIGTERM stops that process promptly."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from jobframe import cli
from jobframe.dashboard import Auth, create_app
from jobframe.testing.reliability_jobs import RecordJob
from jobframe.testing.workers import Journal, Workers, wait_until, write_config

pytestmark = pytest.mark.slow

TOKEN = "r" * 32
DEEP = b"[" * 1000 + b"]" * 1000


def run_cli(*command: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(command))
    assert code == 0, (command, err.getvalue())
    return out.getvalue()


def test_a_1000_deep_payload_between_good_jobs(served_store: Any, tmp_path: Path) -> None:
    adapter, name, options = served_store
    journal = Journal(tmp_path / "journal.jsonl")
    before = [RecordJob.perform_later(journal.name, f"before-{i}") for i in range(3)]
    bad = adapter.enqueue_raw("default", DEEP)
    after = [RecordJob.perform_later(journal.name, f"after-{i}") for i in range(3)]

    inspector = adapter.inspector()
    client = TestClient(
        create_app(inspector, Auth(token=TOKEN)), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    for page in ("/", "/queues", "/jobs/ready", f"/job/{bad}"):
        assert client.get(page).status_code == 200, page
    ready_page = client.get("/jobs/ready").text
    assert (
        "(undecodable)" in ready_page
        and "[[[[" in ready_page
        and "2,000 bytes in all" in ready_page
    )
    assert "default" in run_cli("queues")
    listed = run_cli("jobs", "--limit", "100")
    assert bad in listed and "(undecodable)" in listed and "[[[[" in listed
    as_json = {row["id"]: row for row in json.loads(run_cli("jobs", "--limit", "100", "--json"))}
    assert as_json[bad]["job_class"] is None and as_json[bad]["raw"].startswith("[[[[")

    write_config(tmp_path, name, **options)
    workers = Workers(tmp_path)
    try:
        proc = workers.start(concurrency=2)
        wanted = {job.job_id for job in [*before, *after]}
        wait_until(lambda: wanted <= set(journal.ended()), 20, "the good jobs around it")
        wait_until(lambda: inspector.count("dead") == 1, 10, "the deep payload to be dead")
        (dead,) = inspector.jobs("dead")
        assert dead.id == bad and dead.raw == DEEP
        assert dead.error is not None
        assert dead.error["reason"] == "payload nested too deeply"
        assert "1000 levels" in dead.error["message"]
        assert "payload nested too deeply" in workers.logs()
        for page in ("/", "/queues", "/jobs/dead", f"/job/{bad}"):
            assert client.get(page).status_code == 200, page
        assert bad in run_cli("jobs", "--failed")

        later = RecordJob.perform_later(journal.name, "later")
        wait_until(lambda: journal.ended()[later.job_id], 10, "a job after the deep one")
        workers.check_alive()
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        assert proc.returncode == 0, workers.logs()
        assert time.monotonic() - stopping < 5, "SIGTERM did not stop the worker promptly"
    finally:
        workers.close()
