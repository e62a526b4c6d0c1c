"""`SQLResults` on SQLite, PostgreSQL and MariaDB, against the contract of
`jobframe.backend.results`: status by job id through every live state, records written in the
outcome's transaction (and not for a reaped claim), expiry and purge, wake-ups, the reaper's
``dead`` and `cancel`'s ``cancelled`` records, and the upgrade from schema version 3."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import sqlalchemy as sa

import jobframe
from jobframe.backend.results import JobRecord
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import BATCH_COLUMNS, SCHEMA_VERSION, jobs, progress, results, versions


class NoteJob(jobframe.Job):
    """Does nothing; the tests settle its claims by hand."""

    job_name = "tests.sql.NoteJob"

    def perform(self, n: int = 0) -> None: ...


def record(job_id: str, status: str = "succeeded", ttl: float = 60, **kw: object) -> JobRecord:
    data = json.dumps({"result": job_id}).encode()
    return JobRecord(job_id, status, data, ttl, **kw)  # type: ignore[arg-type]


def claim_one(adapter: SQLAdapter, process: str = "p1") -> Outcome:
    backend = adapter.worker_backend()
    backend.register(ProcessInfo(process, ["*"], 1))
    [claim] = backend.fetch(process, ["*"], 1, 1.0)
    return Outcome(claim, "done")


def test_status_follows_a_job_through_its_live_states(adapter: SQLAdapter) -> None:
    store = adapter.results()
    assert store.status("never-seen").state is None
    assert store.status("never-seen").record is None
    later = NoteJob.set(wait=timedelta(hours=1)).perform_later()
    assert store.status(later.job_id).state == "scheduled"
    job = NoteJob.perform_later()
    assert store.status(job.job_id).state == "ready"
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p1", ["*"], 1))
    [claim] = backend.fetch("p1", ["*"], 1, 1.0)
    store.progress(job.job_id, b'{"progress": {"fraction": 0.5}}', 60)
    running = store.status(job.job_id)
    assert running.state == "running" and running.record is None
    assert running.progress == b'{"progress": {"fraction": 0.5}}'
    backend.complete("p1", [Outcome(claim, "done", records=(record(job.job_id),))])
    done = store.status(job.job_id)
    assert done.state is None and done.progress is None, "a finished row is not live"
    assert done.record is not None and done.record.status == "succeeded"
    assert json.loads(done.record.data) == {"result": job.job_id}
    assert 59 <= done.record.ttl <= 60


def test_a_failed_job_is_dead_with_its_record_and_a_retry_keeps_the_record(
    adapter: SQLAdapter,
) -> None:
    store = adapter.results()
    job = NoteJob.perform_later()
    outcome = claim_one(adapter)
    failed = Outcome(outcome.claim, "failed", {"class": "E", "message": "m"}, 1,
                     records=(record(job.job_id, "failed"),))  # fmt: skip
    adapter.worker_backend().complete("p1", [failed])
    state = store.status(job.job_id)
    assert (state.state, state.record and state.record.status) == ("dead", "failed")
    assert adapter.inspector().retry(all=True) == 1
    state = store.status(job.job_id)
    assert (state.state, state.record and state.record.status) == ("ready", "failed")


def test_a_retry_written_with_the_outcome_is_live_beside_its_retrying_record(
    adapter: SQLAdapter,
) -> None:
    store = adapter.results()
    job = NoteJob.perform_later()
    outcome = claim_one(adapter)
    backend = adapter.worker_backend()
    retry = backend.retry_entry(NoteJob.deserialize(job.serialize()), adapter)
    assert retry is not None
    retry["state"], retry["run_at"] = "scheduled", retry["run_at"] + 3_600_000
    settled = Outcome(outcome.claim, "done", retries=(retry,),
                      records=(record(job.job_id, "retrying"),))  # fmt: skip
    store.progress(job.job_id, b'{"progress": {"fraction": 0.9}}', 60)
    backend.complete("p1", [settled])
    state = store.status(job.job_id)
    assert (state.state, state.record and state.record.status) == ("scheduled", "retrying")
    assert state.progress is None, "the attempt that wrote it is over"
    assert store.wait(job.job_id, 0) is None, "retrying is not final"


def test_a_reaped_claim_writes_no_record(adapter: SQLAdapter) -> None:
    job = NoteJob.perform_later()
    outcome = claim_one(adapter)
    with adapter.engine.begin() as conn:  # the reaper gave it back; another claim took it
        conn.execute(sa.update(jobs).values(claim_token="someone-else"))
    stale = Outcome(outcome.claim, "done", records=(record(job.job_id),))
    adapter.worker_backend().complete("p1", [stale])
    assert adapter.results().status(job.job_id).record is None


def test_plain_successes_in_one_complete_write_each_record(adapter: SQLAdapter) -> None:
    made = jobframe.perform_all_later([NoteJob(n) for n in range(5)])
    assert made == 5
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p1", ["*"], 5))
    claims = backend.fetch("p1", ["*"], 5, 1.0)
    ids = {}
    with adapter.engine.connect() as conn:
        ids = {r.id: r.job_id for r in conn.execute(sa.select(jobs.c.id, jobs.c.job_id))}
    lost = claims[0]
    with adapter.engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == lost.id).values(claim_token="other"))
    backend.complete("p1", [Outcome(c, "done", records=(record(ids[c.id]),)) for c in claims])
    with adapter.engine.connect() as conn:
        written = set(conn.execute(sa.select(results.c.job_id)).scalars())
    assert written == {ids[c.id] for c in claims[1:]}
    assert adapter.inspector().stats()["processed"] == 4


def test_expired_records_are_not_read_and_purge_deletes_them_in_bounded_passes(
    adapter: SQLAdapter,
) -> None:
    store = adapter.results()
    store.write([record(f"old-{n}", ttl=0) for n in range(25)] + [record("kept")])
    store.progress("gone", b"{}", 0)
    time.sleep(0.01)
    assert store.status("old-1").record is None
    assert store.wait("old-1", 0) is None
    assert store.purge(limit=10) == 10
    assert store.purge(limit=100) == 16, "15 records and a progress row"
    assert store.purge() == 0
    with adapter.engine.connect() as conn:
        assert conn.execute(sa.select(results.c.job_id)).scalars().all() == ["kept"]
        assert conn.execute(sa.select(sa.func.count()).select_from(progress)).scalar() == 0


def test_a_batch_never_sealed_is_purged_a_week_after_it_opened(adapter: SQLAdapter) -> None:
    from jobframe.backend.results import BatchInfo
    from jobframe_sql.results import UNSEALED_MS

    store = adapter.results()
    week = UNSEALED_MS / 1000
    for name, age in (("abandoned", week + 60), ("open", week - 60), ("sealed", week + 60)):
        store.open_batch(BatchInfo(name, None, time.time() - age), {}, ttl=86400)
    store.seal_batch("sealed")  # finished at once (nothing pending): kept its ttl from now
    assert store.purge() == 1
    assert store.batch("abandoned") is None
    assert store.batch("open") is not None and store.batch("sealed") is not None


def test_maintain_purges_expired_records(sql_url: str) -> None:
    adapter = SQLAdapter(sql_url, prune_every=0)
    try:
        adapter.results().write([record("short", ttl=0), record("long")])
        time.sleep(0.01)
        counts = adapter.worker_backend().maintain(heartbeat_timeout=60, max_crashes=3)
        assert counts["purged"] == 1
        assert adapter.results().status("long").record is not None
    finally:
        adapter.shutdown()


def test_wait_returns_a_final_record_at_once_and_none_at_its_deadline(
    adapter: SQLAdapter,
) -> None:
    store = adapter.results()
    store.write([record("done")])
    started = time.monotonic()
    found = store.wait("done", 5)
    assert found is not None and found.status == "succeeded"
    assert time.monotonic() - started < 0.5
    started = time.monotonic()
    assert store.wait("nothing", 0.3) is None
    assert 0.3 <= time.monotonic() - started < 1.5


def _wake_latency(waiting: SQLAdapter, writing: SQLAdapter, after: float) -> float:
    """Seconds from the write of a final record (``after`` s into the wait) to the waiter's
    return."""
    written_at: list[float] = []

    def write() -> None:
        time.sleep(after)
        writing.results().write([record("waited", notify=True)])
        written_at.append(time.monotonic())

    writer = threading.Thread(target=write)
    writer.start()
    found = waiting.results().wait("waited", 10)
    returned = time.monotonic()
    writer.join(10)
    assert found is not None and found.job_id == "waited"
    return returned - written_at[0]


def test_a_write_in_this_process_wakes_the_waiter_at_once(adapter: SQLAdapter) -> None:
    # 0.7 s in, a poll alone would come up to 0.42 s late (20 ms doubling to 500 ms)
    assert _wake_latency(adapter, adapter, after=0.7) < 0.1


def test_another_process_on_this_machine_wakes_the_waiter(sql_url: str) -> None:
    waiting, writing = SQLAdapter(sql_url), SQLAdapter(sql_url)  # no shared Waiters
    try:
        # PostgreSQL: LISTEN/NOTIFY; SQLite and MariaDB: a poke of the waiter's socket
        assert _wake_latency(waiting, writing, after=0.7) < 0.1, "woken, not polling"
    finally:
        waiting.shutdown()
        writing.shutdown()


def test_a_waiter_nothing_wakes_polls_at_most_every_half_second(sql_url: str) -> None:
    # notify=False: no sockets on SQLite and MariaDB (as for a MariaDB writer on another
    # machine); PostgreSQL still NOTIFYs results
    waiting, writing = SQLAdapter(sql_url, notify=False), SQLAdapter(sql_url, notify=False)
    try:
        assert _wake_latency(waiting, writing, after=0.7) < 0.6
    finally:
        waiting.shutdown()
        writing.shutdown()


def test_a_poison_pill_gets_a_dead_record(adapter: SQLAdapter) -> None:
    job = NoteJob.perform_later()
    claim_one(adapter, "doomed")
    backend = adapter.worker_backend()
    with adapter.engine.begin() as conn:
        conn.execute(sa.text("UPDATE jobframe_processes SET heartbeat_at = 0"))
    counts = backend.maintain(heartbeat_timeout=1, max_crashes=1)
    assert counts["dead"] == 1
    state = adapter.results().status(job.job_id)
    assert state.state == "dead" and state.record is not None
    assert state.record.status == "dead"
    assert json.loads(state.record.data)["error"]["class"] == "jobframe.WorkerCrashed"
    waited = adapter.results().wait(job.job_id, 0)
    assert waited is not None and waited.status == "dead"


def test_cancelling_a_waiting_job_writes_its_cancelled_record(adapter: SQLAdapter) -> None:
    job = NoteJob.perform_later()
    assert jobframe.cancel(job.job_id) == "cancelled"
    state = adapter.results().status(job.job_id)
    assert state.state is None and state.record is not None
    assert state.record.status == "cancelled"
    assert jobframe.cancel("unknown-job") == "unknown"
    assert adapter.results().status("unknown-job").record is None


def test_a_version_3_database_upgrades_to_results(adapter: SQLAdapter) -> None:
    old = NoteJob.perform_later()
    with adapter.engine.begin() as conn:
        for table in ("jobframe_results", "jobframe_progress", "jobframe_batches",
                      "jobframe_batch_jobs"):  # fmt: skip
            conn.exec_driver_sql(f"DROP TABLE {table}")
        for column in BATCH_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE {jobs.name} DROP COLUMN {column.name}")
        conn.execute(sa.delete(versions))
        conn.execute(sa.insert(versions).values(version=3))
    assert db.upgrade(adapter.engine) == (3, SCHEMA_VERSION) == (3, 6)
    assert db.upgrade(adapter.engine) == (SCHEMA_VERSION, SCHEMA_VERSION)
    assert adapter.results().status(old.job_id).state == "ready"
    adapter.results().write([record(old.job_id)])
    assert adapter.results().status(old.job_id).record is not None
