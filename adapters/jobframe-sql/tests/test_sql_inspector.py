"""The SQL inspector, the worker backend's guarded transitions, pruning and ``jobframe db``,
against SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import jobframe
import jobframe_sql
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe.cli import main
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.engine import now_ms
from jobframe_sql.schema import SCHEMA_VERSION, jobs, processes, versions


class InspectedJob(jobframe.Job):
    queue_as = "inspected"

    def perform(self, n: int) -> None:
        pass


ERROR = {"class": "ValueError", "message": "boom", "traceback": "Traceback...", "reason": "x"}


def _fail(adapter: SQLAdapter, count: int) -> list[str]:
    """Claim ``count`` jobs and report them failed, as a worker would."""
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p-fail", ["*"], 1))
    claims = backend.fetch("p-fail", ["*"], count, 0)
    backend.complete("p-fail", [Outcome(c, "failed", ERROR, attempts=1) for c in claims])
    backend.deregister("p-fail")
    return [c.id for c in claims]


def _expire(adapter: SQLAdapter, process_id: str) -> None:
    with adapter.engine.begin() as conn:
        conn.execute(
            sa.update(processes).where(processes.c.id == process_id).values(heartbeat_at=0)
        )


def test_queues_sizes_latency_pause_resume_clear(adapter: SQLAdapter) -> None:
    inspector = adapter.inspector()
    for n in range(3):
        InspectedJob.perform_later(n)
    InspectedJob.set(queue="other").perform_later(9)
    queues = {q.name: q for q in inspector.queues()}
    assert queues["inspected"].size == 3 and queues["other"].size == 1
    assert 0 <= queues["inspected"].latency < 60 and not queues["inspected"].paused
    inspector.pause("inspected")
    inspector.pause("inspected")  # twice is fine
    backend = adapter.worker_backend()
    assert [c.queue for c in backend.fetch("p", ["*"], 10, 0)] == ["other"]
    assert {q.name: q.paused for q in inspector.queues()}["inspected"] is True
    inspector.resume("inspected")
    assert {q.name: q.paused for q in inspector.queues()}["inspected"] is False
    assert inspector.clear("inspected") == 3
    assert inspector.count("ready", "inspected") == 0
    assert inspector.count("running") == 1, "clear leaves other queues' and running jobs alone"


def test_latency_is_the_age_of_the_oldest_ready_job(adapter: SQLAdapter) -> None:
    InspectedJob.perform_later(1)
    with adapter.engine.begin() as conn:  # as if enqueued two minutes ago
        conn.execute(sa.update(jobs).values(run_at=now_ms() - 120_000))
    (queue,) = adapter.inspector().queues()
    assert 119 <= queue.latency < 180


def test_jobs_by_state_and_pagination(adapter: SQLAdapter) -> None:
    inspector = adapter.inspector()
    jobframe.perform_all_later([InspectedJob(n) for n in range(7)])
    later = InspectedJob.set(wait=timedelta(hours=2)).perform_later(200)
    sooner = InspectedJob.set(wait=timedelta(hours=1)).perform_later(100)
    page = inspector.jobs("ready", offset=2, limit=3)
    assert [j.arguments["args"] for j in page] == [[2], [3], [4]]
    assert page[0].job_class and page[0].job_class.endswith("InspectedJob")
    assert page[0].enqueued_at is not None and page[0].raw
    assert inspector.count("ready") == 7 and inspector.count("scheduled") == 2
    assert inspector.count("ready", "elsewhere") == 0
    scheduled = inspector.jobs("scheduled")
    assert [j.id for j in scheduled] == [sooner.provider_job_id, later.provider_job_id]
    assert scheduled[0].scheduled_at is not None and scheduled[0].queue == "inspected"
    assert inspector.job(later.provider_job_id or "").state == "scheduled"  # type: ignore[union-attr]
    assert inspector.job(page[0].id).state == "ready"  # type: ignore[union-attr]
    assert inspector.job("missing") is None


def test_failed_jobs_keep_the_error_and_retry_and_discard_one_and_all(
    adapter: SQLAdapter,
) -> None:
    inspector = adapter.inspector()
    jobframe.perform_all_later([InspectedJob(n) for n in range(4)])
    dead = _fail(adapter, 4)
    assert inspector.count("dead") == 4 and inspector.count("ready") == 0
    info = inspector.job(dead[0])
    assert info is not None and info.state == "dead"
    assert info.error == {**ERROR, "attempts": 1}
    assert info.raw and b"InspectedJob" in info.raw
    assert inspector.stats()["failed"] == 4
    assert inspector.retry([dead[0]]) == 1
    assert inspector.count("ready", "inspected") == 1
    retried = inspector.job(dead[0])
    assert retried is not None and retried.state == "ready" and retried.error is None
    assert inspector.discard([dead[1]]) == 1
    assert inspector.job(dead[1]) is None
    assert inspector.discard([dead[0]]) == 0, "a ready job is not a failed one"
    assert inspector.retry(all=True) == 2
    assert inspector.count("dead") == 0 and inspector.count("ready") == 3
    _fail(adapter, 3)
    assert inspector.discard(all=True) == 3
    assert inspector.count("dead") == 0
    with adapter.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one() == 0


def test_a_retried_job_runs_again(adapter: SQLAdapter) -> None:
    InspectedJob.perform_later(1)
    (failed,) = _fail(adapter, 1)
    adapter.inspector().retry([failed])
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p2", ["*"], 1))
    (claim,) = backend.fetch("p2", ["*"], 1, 0)
    assert claim.id == failed
    backend.complete("p2", [Outcome(claim, "done", attempts=2)])
    assert adapter.inspector().count("dead") == 0
    assert adapter.inspector().stats() == {"processed": 2, "failed": 1}


def test_workers_and_running_jobs(adapter: SQLAdapter) -> None:
    inspector = adapter.inspector()
    InspectedJob.perform_later(1)
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("w1", ["inspected"], 3))
    (claim,) = backend.fetch("w1", ["inspected"], 5, 0)
    (worker,) = inspector.workers()
    assert (worker.id, worker.queues, worker.concurrency, worker.running) == (
        "w1",
        ["inspected"],
        3,
        [claim.id],
    )
    assert worker.heartbeat_at >= worker.started_at - timedelta(seconds=1)
    (running,) = inspector.jobs("running")
    assert running.worker == "w1" and inspector.job(claim.id).state == "running"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="running"):
        inspector.discard([claim.id], state="running")
    backend.complete("w1", [Outcome(claim, "done")])
    assert inspector.jobs("running") == [] and inspector.stats()["processed"] == 1
    assert inspector.job(claim.id) is None, "finished jobs are not listed"
    assert sum(inspector.history("processed").values()) == 1
    backend.deregister("w1")
    assert inspector.workers() == []


def test_finished_jobs_are_pruned_in_batches(adapter: SQLAdapter) -> None:
    jobframe.perform_all_later([InspectedJob(n) for n in range(5)])
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("w1", ["*"], 5))
    claims = backend.fetch("w1", ["*"], 5, 0)
    backend.complete("w1", [Outcome(c, "done") for c in claims[:4]])
    backend.complete("w1", [Outcome(claims[4], "failed", ERROR)])
    assert backend.prune(now_ms() - 60_000) == 0, "younger than the retention"
    assert backend.prune(now_ms() + 1, batch=3) == 4
    with adapter.engine.connect() as conn:
        left = conn.execute(sa.select(jobs.c.state)).scalars().all()
    assert left == ["failed"], "failed jobs are kept"


def test_retention_is_an_adapter_option(sql_url: str) -> None:
    adapter = SQLAdapter(sql_url, finished_retention=0, prune_every=0, poll_interval=0.1)
    try:
        backend = adapter.worker_backend()
        assert backend.poll_interval == 0.1
        with jobframe.queue_adapters.override(adapter):
            InspectedJob.perform_later(1)
        backend.register(ProcessInfo("w1", ["*"], 1))
        (claim,) = backend.fetch("w1", ["*"], 1, 0)
        backend.complete("w1", [Outcome(claim, "done")])
        with adapter.engine.begin() as conn:  # finished a moment ago
            conn.execute(sa.update(jobs).values(finished_at=now_ms() - 10))
        assert backend.maintain(heartbeat_timeout=30, max_crashes=3)["pruned"] == 1
    finally:
        adapter.shutdown()
    with pytest.raises(jobframe.ConfigurationError, match="finished_retention"):
        SQLAdapter(sql_url, finished_retention=-1)


def test_a_stale_claim_cannot_finish_a_reaped_job(adapter: SQLAdapter) -> None:
    InspectedJob.perform_later(1)
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("dead-process", ["*"], 1))
    (claim,) = backend.fetch("dead-process", ["*"], 1, 0)
    _expire(adapter, "dead-process")
    assert backend.maintain(heartbeat_timeout=1, max_crashes=3)["requeued"] == 1
    backend.complete("dead-process", [Outcome(claim, "done")])  # too late: ignored
    backend.complete("dead-process", [Outcome(claim, "failed", ERROR)])  # ignored too
    inspector = adapter.inspector()
    assert inspector.count("ready") == 1 and inspector.count("dead") == 0
    assert inspector.stats() == {"processed": 0, "failed": 0}
    backend.register(ProcessInfo("alive", ["*"], 1))
    (again,) = backend.fetch("alive", ["*"], 1, 0)
    assert again.id == claim.id and again.token != claim.token
    backend.complete("dead-process", [Outcome(claim, "done")])  # the old token still can't
    assert inspector.job(claim.id).worker == "alive"  # type: ignore[union-attr]


def test_a_retry_is_written_only_with_its_claims_outcome(adapter: SQLAdapter) -> None:
    job = InspectedJob.perform_later(1)
    backend = adapter.worker_backend()
    inspector = adapter.inspector()
    backend.register(ProcessInfo("p1", ["*"], 1))
    (claim,) = backend.fetch("p1", ["*"], 1, 0)
    job.scheduled_at = job.now() + timedelta(minutes=5)
    retry = backend.retry_entry(job, adapter)
    assert retry is not None
    other = SQLAdapter("sqlite:///elsewhere.sqlite3")
    assert backend.retry_entry(job, other) is None
    other.shutdown()
    _expire(adapter, "p1")  # the process looks dead
    backend.maintain(heartbeat_timeout=1, max_crashes=3)
    backend.complete("p1", [Outcome(claim, "done", retries=(retry,))])
    assert inspector.count("scheduled") == 0, "a lost claim must not schedule a retry"
    backend.register(ProcessInfo("p2", ["*"], 1))
    (claim,) = backend.fetch("p2", ["*"], 1, 0)
    backend.complete("p2", [Outcome(claim, "done", retries=(retry,))])
    assert inspector.count("scheduled") == 1 and inspector.count("ready") == 0


def test_scheduled_jobs_run_now_or_are_discarded(adapter: SQLAdapter) -> None:
    inspector = adapter.inspector()
    jobs_ = [InspectedJob.set(wait=timedelta(hours=1)).perform_later(n) for n in range(3)]
    assert inspector.run_now([jobs_[0].provider_job_id or ""]) == 1
    assert inspector.count("ready") == 1 and inspector.count("scheduled") == 2
    assert inspector.discard([jobs_[1].provider_job_id or ""], state="scheduled") == 1
    assert inspector.discard(all=True, state="scheduled") == 1
    assert inspector.count("scheduled") == 0 and inspector.count("ready") == 1


# -- jobframe db init|upgrade and the MetaData ---------------------------------------------------


def test_db_init_and_upgrade_are_idempotent(
    sql_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = sa.create_engine(sql_url)
    try:
        jobframe_sql.metadata.drop_all(engine)
        assert main(["db", "init", "--url", sql_url]) == 0
        assert f"schema version {SCHEMA_VERSION}" in capsys.readouterr().out
        assert main(["db", "init", "--url", sql_url]) == 0
        assert main(["db", "upgrade", "--url", sql_url]) == 0
        out = capsys.readouterr().out
        assert f"already at schema version {SCHEMA_VERSION}: nothing to upgrade" in out
        assert "upgraded from" not in out
        names = set(sa.inspect(engine).get_table_names())
        assert names >= set(jobframe_sql.metadata.tables)
        with engine.connect() as conn:
            recorded = conn.execute(sa.select(versions.c.version)).scalars().all()
        assert recorded == [SCHEMA_VERSION], "recorded once"
    finally:
        engine.dispose()


def test_upgrade_creates_missing_tables(sql_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = sa.create_engine(sql_url)
    try:
        jobframe_sql.metadata.drop_all(engine)
        assert main(["db", "upgrade", "--url", sql_url]) == 0
        assert "from version 0" in capsys.readouterr().out
        assert set(sa.inspect(engine).get_table_names()) >= set(jobframe_sql.metadata.tables)
    finally:
        engine.dispose()


def test_a_newer_schema_is_refused(sql_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = sa.create_engine(sql_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(versions).values(version=SCHEMA_VERSION + 1))
        for action in ("init", "upgrade"):
            assert main(["db", action, "--url", sql_url]) == 1
            assert "newer than this jobframe-sql" in capsys.readouterr().err
        with pytest.raises(jobframe.ConfigurationError, match="upgrade jobframe-sql"):
            db.upgrade(engine)
    finally:
        engine.dispose()


def test_db_needs_a_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    jobframe.configure(adapter="async")
    assert main(["db", "init"]) == 1
    assert "--url" in capsys.readouterr().err
    jobframe.configure(adapter="sql", adapter_options={"url": f"sqlite:///{tmp_path}/c.db"})
    assert main(["db", "init"]) == 0
    assert (tmp_path / "c.db").exists()


def test_metadata_holds_every_table_for_alembic() -> None:
    tables = jobframe_sql.metadata.tables
    assert set(tables) == {
        "jobframe_jobs",
        "jobframe_processes",
        "jobframe_pauses",
        "jobframe_stats",
        "jobframe_schema",
    }
    assert {i.name for i in tables["jobframe_jobs"].indexes} >= {
        "jobframe_jobs_claim",
        "jobframe_jobs_due",
    }
    # An app's env.py combines it with its own: target_metadata = [Base.metadata, metadata]
    app = sa.MetaData()
    sa.Table("orders", app, sa.Column("id", sa.Integer, primary_key=True))
    combined = sa.MetaData()
    for source in (app, jobframe_sql.metadata):
        for table in source.tables.values():
            table.to_metadata(combined)
    assert set(combined.tables) == {"orders", *tables}


def test_arguments_text_search(adapter: SQLAdapter) -> None:
    import jobframe

    class SearchedJob(jobframe.Job):
        def perform(self, email: str, *, note: str = "") -> None:
            pass

    try:
        jobframe.perform_all_later(
            [SearchedJob("ann@example.com"), SearchedJob("bob@example.com", note="50% off_sale")]
        )
        inspector = adapter.inspector()
        assert inspector.supports_search
        assert [j.arguments["args"] for j in inspector.jobs("ready", search="ann@")] == [
            ["ann@example.com"]
        ]
        assert inspector.count("ready", search="example.com") == 2
        assert inspector.count("ready", search="50% off_") == 1  # % and _ are literal
        assert inspector.count("ready", search="5_% off") == 0
        assert inspector.count("dead", search="ann@") == 0
        assert inspector.count("ready", job_class="SearchedJ") == 2
        assert inspector.count("ready", job_class="NoSuchJob") == 0
        assert len(inspector.jobs("ready", job_class="SearchedJ", search="bob@")) == 1
    finally:
        from jobframe import registry

        registry.unregister(SearchedJob)


def test_jobs_command_shows_how_many_times_a_dead_job_ran(
    adapter: SQLAdapter, capsys: pytest.CaptureFixture[str]
) -> None:
    InspectedJob.perform_later(1)
    backend = adapter.worker_backend()
    backend.register(ProcessInfo("p-runs", ["*"], 1))
    (claim,) = backend.fetch("p-runs", ["*"], 1, 0)
    backend.complete("p-runs", [Outcome(claim, "failed", ERROR, attempts=3)])  # its third run
    assert main(["jobs", "--failed"]) == 0
    header, row = capsys.readouterr().out.splitlines()[:2]
    runs = row.split()[header.split().index("RUNS")]
    assert runs == "3"
