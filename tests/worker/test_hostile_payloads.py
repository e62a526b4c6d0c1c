"""Arbitrary bytes and arbitrary JSON written with ``enqueue_raw`` into a real store (Redis,
SQLite, PostgreSQL, MariaDB), between good jobs, with a real worker running: every good job runs,
every payload that cannot become a job is dead with its raw bytes and a reason, the worker keeps
fetching, and every dashboard page and ``jobframe queues`` / ``jobframe jobs`` answer
(issue #11 item 1, found with a 1,000-deep list that stalled a worker for good)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

import jobframe
from jobframe import cli
from jobframe.backend.inspector import Inspector
from jobframe.backend.worker import Claim, Outcome
from jobframe.dashboard import Auth, create_app
from jobframe.testing.reliability_jobs import RecordJob
from jobframe.testing.workers import Journal, wait_until, worker_thread
from jobframe.worker import execution
from jobframe.worker.runtime import Worker, WorkerOptions

pytestmark = pytest.mark.slow

TOKEN = "h" * 32
MAX_PAYLOAD = 64 * 1024  # the worker's max_payload_bytes here: bigger payloads are dead
ran_raw: set[str] = set()  # backend ids of raw payloads that turned out to be runnable jobs


class InertJob(jobframe.Job):
    """The template of job-shaped payloads: takes any arguments, touches nothing but
    `ran_raw` (the worker runs in this process)."""

    job_name = "tests.worker.InertJob"

    def perform(self, *args: Any, **kwargs: Any) -> None:
        ran_raw.add(str(self.provider_job_id))


TEMPLATE = InertJob("template").serialize()
FIELDS = sorted(TEMPLATE)

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["\\ud800", "\x00", "<script>", "gid://x/Y/1", "|", "{{"])
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"null" + b"}" * depth


def _job_shaped(field: str, value: Any) -> bytes:
    return json.dumps({**TEMPLATE, field: value}).encode()


def _surrogate_text(value: Any) -> bytes:
    """JSON whose strings hold lone surrogates (valid JSON, yet no UTF-8 text)."""
    return json.dumps({**TEMPLATE, "job_class": "\ud800", "arguments": [value, "\udfff"]}).encode()


hostile_payload = st.one_of(
    st.binary(max_size=200),
    json_value.map(lambda value: json.dumps(value).encode()),
    st.builds(_nested, st.integers(150, 3000), st.sampled_from(["list", "object"])),
    st.builds(_job_shaped, st.sampled_from(FIELDS), json_value),
    st.builds(_surrogate_text, json_value),
    st.integers(MAX_PAYLOAD + 1, MAX_PAYLOAD + 1000).map(lambda n: b'"' + b"x" * n + b'"'),
)


@pytest.fixture
def worker(store: Any) -> Iterator[Worker]:
    options = WorkerOptions(
        queues=["*"],
        concurrency=2,
        scheduler_interval=0.05,
        fetch_timeout=0.5,
        max_payload_bytes=MAX_PAYLOAD,
    )
    with worker_thread(store.worker_backend(), options) as worker:
        yield worker


def loads_as_job(payload: bytes) -> bool:
    """Whether a worker makes a job of ``payload`` (a job-shaped mutation may still be one)."""
    return not isinstance(execution.load(Claim("x", "t", "q", payload), MAX_PAYLOAD), Outcome)


def check_pages_and_commands(inspector: Inspector, ids: list[str]) -> None:
    """Every dashboard page answers 200 and ``jobframe queues`` / ``jobs`` succeed."""
    client = TestClient(
        create_app(inspector, Auth(token=TOKEN)), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    pages = ["/", "/queues", "/workers", "/api/summary"]
    pages += [f"/jobs/{state}" for state in ("ready", "scheduled", "running", "dead")]
    pages += [f"/job/{id}" for id in ids]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (page, response.text[-2000:])
    for command in (["queues"], ["jobs"], ["jobs", "--failed"], ["jobs", "--failed", "--json"]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(command)
        assert code == 0, (command, err.getvalue())
        if command[-1] == "--json":
            json.loads(out.getvalue())


def test_arbitrary_payloads_never_stop_good_jobs(
    store: Any, worker: Worker, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    inspector = store.inspector()
    seen: list[str] = []

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(hostile_payload, min_size=1, max_size=4))
    def check(payloads: list[bytes]) -> None:
        good, raw = [], {}
        for index, payload in enumerate(payloads):
            good.append(RecordJob.perform_later(journal.name, f"good-{len(seen)}-{index}"))
            raw[store.enqueue_raw("hostile", payload)] = payload
        good.append(RecordJob.perform_later(journal.name, "last"))
        seen.extend(raw)

        wanted = {job.job_id for job in good}
        wait_until(lambda: wanted <= set(journal.ended()), 20, "every good job to run")
        wait_until(lambda: inspector.pending() == 0, 20, "every raw payload to be settled")
        dead = {info.id: info for info in _all_dead(inspector)}
        for id, payload in raw.items():
            if id in ran_raw:  # a mutation that is still a valid job: it ran, as it should
                assert loads_as_job(payload), payload[:200]
                continue
            assert id in dead, (id, payload[:200])
            assert dead[id].raw == payload
            assert dead[id].error and dead[id].error.get("reason"), dead[id].error
        check_pages_and_commands(inspector, [id for id in raw if id not in ran_raw])

    check()
    assert worker.processed > 0
    canary = RecordJob.perform_later(journal.name, "canary")
    wait_until(lambda: journal.ended()[canary.job_id], 10, "a job after every example")


def _all_dead(inspector: Inspector) -> list[Any]:
    found: list[Any] = []
    while chunk := inspector.jobs("dead", offset=len(found), limit=500):
        found += chunk
    return found
