"""Batches in the SQL tables on SQLite, PostgreSQL and MariaDB, against the contract of
`jobframe.backend.results`: counted once in the enqueue's transaction (a bulk enqueue in a few
statements per 1,000 jobs), counters moved by final records, callbacks enqueued exactly once
and only once sealed, a job retried from the dead set moving counters, and the reaper and
`cancel` counting in batches; purge of finished batches."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import jobframe
from jobframe.backend.payload import dump_payload
from jobframe.backend.results import BatchCallback, BatchInfo, JobRecord
from jobframe.backend.worker import Claim, Outcome, ProcessInfo
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import batch_jobs, jobs


class MemberJob(jobframe.Job):
    """A job of a batch; the tests settle its claims by hand."""

    job_name = "tests.sql.MemberJob"

    def perform(self, n: int = 0) -> None: ...


class CallbackJob(jobframe.Job):
    job_name = "tests.sql.CallbackJob"

    def perform(self, kind: str) -> None: ...


def in_batch(batch_id: str, n: int = 0) -> MemberJob:
    job = MemberJob(n)
    job.batch_id = batch_id  # what jobframe.batch sets on the jobs enqueued in its block
    return job


def callback(kind: str) -> BatchCallback:
    job = CallbackJob(kind)
    return BatchCallback(uuid.uuid4().hex, "default", 0, dump_payload(job.serialize()), job.job_id)


def open_batch(adapter: SQLAdapter, *kinds: str, ttl: float = 60) -> tuple[str, dict[str, str]]:
    """A new batch with callbacks of ``kinds``; returns its id and the callbacks' job ids."""
    batch_id = uuid.uuid4().hex
    callbacks = {kind: callback(kind) for kind in kinds}
    info = BatchInfo(batch_id, "test", time.time())
    adapter.results().open_batch(info, callbacks, ttl)
    return batch_id, {kind: cb.job_id for kind, cb in callbacks.items()}


def final(job_id: str, batch_id: str, status: str = "succeeded") -> JobRecord:
    return JobRecord(job_id, status, b"{}", 60, batch_id, True)  # type: ignore[arg-type]


def enqueued(adapter: SQLAdapter, job_id: str) -> int:
    with adapter.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(jobs).where(jobs.c.job_id == job_id)
        return int(conn.execute(query).scalar_one())


@pytest.fixture
def claims(adapter: SQLAdapter) -> Iterator[Any]:
    """Claim every ready job: a map of job_id -> its claim."""
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p1", ["*"], 100))

    def claim_all() -> dict[str, Claim]:
        found = backend.fetch("p1", ["*"], 100, 0)
        with adapter.engine.connect() as conn:
            rows = conn.execute(sa.select(jobs.c.id, jobs.c.job_id)).all()
        by_id = {row.id: row.job_id for row in rows}
        return {by_id[c.id]: c for c in found}

    yield claim_all


def test_a_batch_counts_its_jobs_once_and_fires_on_seal_once(
    adapter: SQLAdapter, claims: Any
) -> None:
    store = adapter.results()
    batch_id, ids = open_batch(adapter, "on_success", "on_complete")
    members = [in_batch(batch_id, n) for n in range(3)]
    members[0].enqueue()
    assert jobframe.perform_all_later(members[1:]) == 2
    in_batch(batch_id).enqueue()  # a 4th job
    again = MemberJob.deserialize(members[0].serialize())
    again.batch_id = batch_id
    again.enqueue()  # the same job_id again (a retry): not counted twice
    info = store.batch(batch_id)
    assert info is not None and (info.total, info.pending) == (4, 4)
    held = claims()
    backend = adapter.worker_backend()
    records = [final(job_id, batch_id) for job_id in list(held)[:4]]
    backend.complete(
        "p1", [Outcome(held[r.job_id], "done", records=(r,)) for r in records if r.job_id]
    )
    info = store.batch(batch_id)
    assert info is not None and info.pending == 0 and info.succeeded == 4
    assert info.fired == () and info.finished_at is None, "not sealed: nothing fires"
    assert enqueued(adapter, ids["on_complete"]) == 0
    store.seal_batch(batch_id)
    store.seal_batch(batch_id)
    info = store.batch(batch_id)
    assert info is not None and info.sealed and info.finished_at is not None
    assert set(info.fired) == {"on_complete", "on_success"}
    assert info.callbacks == ids
    assert enqueued(adapter, ids["on_complete"]) == enqueued(adapter, ids["on_success"]) == 1
    assert store.batches()[0].id == batch_id


def test_a_failure_fires_on_complete_and_a_retry_from_the_dead_set_fires_on_success(
    adapter: SQLAdapter, claims: Any
) -> None:
    store = adapter.results()
    batch_id, ids = open_batch(adapter, "on_success", "on_complete")
    jobframe.perform_all_later([in_batch(batch_id, n) for n in range(2)])
    store.seal_batch(batch_id)
    backend = adapter.worker_backend()
    ok, bad = claims().items()
    backend.complete("p1", [Outcome(ok[1], "done", records=(final(ok[0], batch_id),))])
    assert store.batch(batch_id).fired == ()  # type: ignore[union-attr]
    failed = Outcome(bad[1], "failed", {"class": "E", "message": "m"}, 1,
                     records=(final(bad[0], batch_id, "failed"),))  # fmt: skip
    backend.complete("p1", [failed])
    info = store.batch(batch_id)
    assert info is not None and (info.succeeded, info.failed, info.pending) == (1, 1, 0)
    assert info.fired == ("on_complete",)
    assert enqueued(adapter, ids["on_success"]) == 0
    assert adapter.inspector().retry(all=True) == 1
    [(job_id, claim)] = [item for item in claims().items() if item[0] == bad[0]]
    backend.complete("p1", [Outcome(claim, "done", records=(final(job_id, batch_id),))])
    info = store.batch(batch_id)
    assert info is not None and (info.succeeded, info.failed, info.pending) == (2, 0, 0)
    assert info.fired == ("on_complete", "on_success")
    assert enqueued(adapter, ids["on_complete"]) == enqueued(adapter, ids["on_success"]) == 1


def test_a_bulk_enqueue_counts_in_a_few_statements_per_thousand_jobs(
    adapter: SQLAdapter,
) -> None:
    batch_id, _ = open_batch(adapter)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(adapter.engine, "before_cursor_execute", count)
    try:
        assert jobframe.perform_all_later([in_batch(batch_id, n) for n in range(2500)]) == 2500
    finally:
        sa.event.remove(adapter.engine, "before_cursor_execute", count)
    counting = [s for s in statements if "jobframe_batch" in s]
    assert len(counting) == 6, "3 chunks: an INSERT into batch_jobs and an UPDATE of the batch"
    info = adapter.results().batch(batch_id)
    assert info is not None and (info.total, info.pending) == (2500, 2500)


def test_the_last_two_jobs_finishing_at_once_fire_the_callback_once(sql_url: str) -> None:
    adapters = [SQLAdapter(sql_url), SQLAdapter(sql_url)]
    try:
        store = adapters[0].results()
        batch_id, ids = open_batch(adapters[0], "on_complete")
        with jobframe.queue_adapters.override(adapters[0]):
            jobframe.perform_all_later([in_batch(batch_id, n) for n in range(20)])
        store.seal_batch(batch_id)
        outcomes: list[list[Outcome]] = [[], []]
        for n, adapter in enumerate(adapters):
            backend = adapter.worker_backend()
            backend.register(ProcessInfo(f"p{n}", ["*"], 10))
            for claim in backend.fetch(f"p{n}", ["*"], 10, 1.0):
                with adapter.engine.connect() as conn:
                    query = sa.select(jobs.c.job_id).where(jobs.c.id == claim.id)
                    job_id = conn.execute(query).scalar_one()
                outcomes[n].append(Outcome(claim, "done", records=(final(job_id, batch_id),)))
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def finish(n: int) -> None:
            try:
                barrier.wait(5)
                for outcome in outcomes[n]:
                    adapters[n].worker_backend().complete(f"p{n}", [outcome])
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=finish, args=(n,)) for n in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        info = store.batch(batch_id)
        assert info is not None and (info.succeeded, info.pending) == (20, 0)
        assert info.fired == ("on_complete",)
        assert enqueued(adapters[0], ids["on_complete"]) == 1
    finally:
        for adapter in adapters:
            adapter.shutdown()


def test_a_poison_pill_and_a_cancelled_job_count_in_their_batch(
    adapter: SQLAdapter, claims: Any
) -> None:
    store = adapter.results()
    batch_id, ids = open_batch(adapter, "on_complete")
    first = in_batch(batch_id, 1)
    first.enqueue()
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("doomed", ["*"], 1))
    assert len(backend.fetch("doomed", ["*"], 1, 1.0)) == 1
    waiting = in_batch(batch_id, 2)
    waiting.enqueue()
    store.seal_batch(batch_id)
    assert jobframe.cancel(waiting.job_id) == "cancelled"
    with adapter.engine.begin() as conn:
        conn.execute(sa.text("UPDATE jobframe_processes SET heartbeat_at = 0"))
    assert backend.maintain(heartbeat_timeout=1, max_crashes=1)["dead"] == 1
    info = store.batch(batch_id)
    assert info is not None and (info.dead, info.cancelled, info.pending) == (1, 1, 0)
    assert info.fired == ("on_complete",)
    assert enqueued(adapter, ids["on_complete"]) == 1


def test_records_written_outside_a_claim_count_and_fire(adapter: SQLAdapter) -> None:
    store = adapter.results()
    batch_id, _ = open_batch(adapter, "on_complete")
    jobs_ = [in_batch(batch_id, n) for n in range(2)]
    jobframe.perform_all_later(jobs_)
    store.seal_batch(batch_id)
    store.write([final(jobs_[0].job_id, batch_id, "discarded")])
    store.write([final(jobs_[0].job_id, batch_id, "discarded")])  # again: counted once
    store.write([final(jobs_[1].job_id, batch_id, "retrying")])  # not final: moves nothing
    info = store.batch(batch_id)
    assert info is not None and (info.discarded, info.pending) == (1, 1)
    store.write([final(jobs_[1].job_id, batch_id, "cancelled")])
    info = store.batch(batch_id)
    assert info is not None and (info.cancelled, info.pending, info.fired) == (
        1, 0, ("on_complete",)
    )  # fmt: skip


def test_finished_batches_are_purged_after_their_ttl(adapter: SQLAdapter) -> None:
    store = adapter.results()
    gone, _ = open_batch(adapter, ttl=0)
    kept, _ = open_batch(adapter, ttl=0)  # never sealed: not finished, kept
    jobframe.perform_all_later([in_batch(gone, n) for n in range(3)])
    store.seal_batch(gone)
    with adapter.engine.connect() as conn:
        members = conn.execute(sa.select(batch_jobs.c.job_id)).scalars().all()
    store.write([final(job_id, gone) for job_id in members])
    time.sleep(0.01)
    assert store.purge(limit=2) == 2, "bounded: two memberships"
    assert store.batch(gone) is not None
    assert store.purge() >= 2, "the last membership and the batch"
    assert store.batch(gone) is None and store.batch(kept) is not None
