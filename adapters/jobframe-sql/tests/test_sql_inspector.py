"""The SQL inspector, the worker backend's guarded transitions, pruning and ``jobframe db``,
against SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

import jobframe
import jobframe_sql
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe.cli import main
from jobframe.testing.outcomes import fail_ready
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.engine import now_ms
from jobframe_sql.schema import SCHEMA_VERSION, jobs, versions


class InspectedJob(jobframe.Job):
    queue_as = "inspected"

    def perform(self, n: int) -> None:
        pass


ERROR = {"class": "ValueError", "message": "boom", "traceback": "Traceback...", "reason": "x"}


def _fail(adapter: SQLAdapter, count: int) -> list[str]:
    """Claim ``count`` jobs and report them failed, as a worker would."""
    backend = adapter.worker_backend()
    failed = fail_ready(backend, count, error=ERROR, process="p-fail")
    backend.deregister("p-fail")
    return failed


def test_discarded_jobs_leave_no_row_and_a_retry_stays_in_its_database(
    adapter: SQLAdapter, tmp_path: Path
) -> None:
    """What the conformance suite cannot see through the inspector: the rows themselves."""
    job = InspectedJob.perform_later(1)
    jobframe.perform_all_later([InspectedJob(n) for n in range(3)])
    inspector = adapter.inspector()
    failed = _fail(adapter, 3)
    assert inspector.retry([failed[0]]) == 1
    assert inspector.job(failed[0]).error is None  # type: ignore[union-attr]
    assert inspector.discard(all=True) == 2
    backend = adapter.worker_backend()
    other = SQLAdapter(f"sqlite:///{tmp_path}/elsewhere.sqlite3")
    try:
        assert backend.retry_entry(job, other) is None, "a retry written to another database"
    finally:
        other.shutdown()
    assert inspector.clear("inspected") == 2
    with adapter.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one() == 0


def test_only_chain_links_with_a_successor_are_read_back_to_end_a_chain(
    adapter: SQLAdapter,
) -> None:
    """The filter `clear` and `discard` read payloads through: a plain job and a chain's last
    link do not come back (a clear of a large queue transfers no payload), the first link does."""
    from jobframe.testing.batch_jobs import LinkJob
    from jobframe_sql.inspector import _linked

    InspectedJob.perform_later(1)
    first, _ = jobframe.chain(LinkJob("/dev/null", "a"), LinkJob("/dev/null", "b")).perform_later()
    jobframe.chain(LinkJob("/dev/null", "alone")).perform_later()
    with adapter.engine.connect() as conn:
        found = conn.execute(sa.select(jobs.c.job_id).where(_linked(conn))).scalars().all()
    assert found == [first.job_id]


def test_latency_is_the_age_of_the_oldest_ready_job(adapter: SQLAdapter) -> None:
    InspectedJob.perform_later(1)
    with adapter.engine.begin() as conn:  # as if enqueued two minutes ago
        conn.execute(sa.update(jobs).values(run_at=now_ms() - 120_000))
    (queue,) = adapter.inspector().queues()
    assert 119 <= queue.latency < 180


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
        "jobframe_recurring",
        "jobframe_stats",
        "jobframe_schema",
        "jobframe_locks",
        "jobframe_semaphores",
        "jobframe_rates",
        "jobframe_results",
        "jobframe_progress",
        "jobframe_batches",
        "jobframe_batch_jobs",
        "jobframe_timings",
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
