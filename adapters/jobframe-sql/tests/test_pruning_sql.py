"""Finished history is deleted in bounded batches (`jobframe_sql.pruning`) while claims go on: two
pruners share 10^5 old rows (``SKIP LOCKED``: neither waits on the other's rows), keep the young
ones, and a worker enqueues and claims job after job throughout, each claim getting its job."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobframe import queue_adapters
from jobframe.testing.reliability_jobs import RecordJob
from jobframe_sql import pruning
from jobframe_sql.engine import now_ms
from jobframe_sql.schema import jobs
from jobframe_sql.testing import add_finished, sql_adapter
from jobframe_sql.worker_backend import SQLWorkerBackend

OLD = 100_000
YOUNG = 1_000


def _finished(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        count = sa.select(sa.func.count()).where(jobs.c.state == "finished")
        return int(conn.execute(count).scalar_one())


@pytest.mark.slow
@pytest.mark.parametrize("database", ["postgresql", "mariadb"])
def test_history_is_pruned_in_batches_while_claims_go_on(database: str) -> None:
    with sql_adapter(database) as adapter, queue_adapters.override(adapter):  # type: ignore[arg-type]
        add_finished(adapter.engine, OLD, finished_at=1_000)
        add_finished(adapter.engine, YOUNG, finished_at=now_ms())
        before = now_ms() - 60_000
        batches: list[float] = []  # when each batch ended (its pause began)
        deleted: list[int] = []
        failures: list[BaseException] = []

        def pause(seconds: float) -> None:
            batches.append(time.monotonic())
            time.sleep(seconds)

        backend = adapter.worker_backend()  # its own engine, as a worker's
        engine = backend.engine  # what a worker prunes with (READ COMMITTED on MariaDB)

        def pruner() -> None:
            try:
                deleted.append(pruning.prune(engine, before, budget=None, sleep=pause)[0])
            except BaseException as exc:  # reported by the test's thread
                failures.append(exc)

        threads = [threading.Thread(target=pruner) for _ in range(2)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        latencies = []
        while any(thread.is_alive() for thread in threads):
            job = RecordJob.perform_later("/dev/null", "during")
            started = time.monotonic()
            claims = backend.fetch("p1", ["*"], 1, 0)
            latencies.append(time.monotonic() - started)
            assert [claim.id for claim in claims] == [job.provider_job_id], "a claim failed"
            assert time.monotonic() - began < 120, "the pruners did not finish"
        for thread in threads:
            thread.join()
        assert not failures, failures
        assert sum(deleted) == OLD, f"deleted {deleted}: each old row once, by one pruner"
        assert len(batches) >= OLD // pruning.BATCH - 2, "not deleted in batches"
        assert _finished(adapter.engine) == YOUNG
        assert len(latencies) >= 10, "too few claims ran during the cleanup to tell"
        print(f"{database}: {OLD} rows in {len(batches)} batches by 2 pruners "
              f"({deleted}) in {time.monotonic() - began:.1f}s; {len(latencies)} claims during "
              f"it, longest {max(latencies) * 1000:.1f} ms, median "
              f"{sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms")  # fmt: skip


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mariadb"])
def test_a_pass_stops_at_its_budget_and_says_rows_are_left(database: str, tmp_path: Path) -> None:
    with sql_adapter(database, tmp_path) as adapter:  # type: ignore[arg-type]
        add_finished(adapter.engine, 250, finished_at=1_000)
        assert pruning.prune(adapter.engine, 2_000, batch=100, budget=0) == (100, True)
        assert pruning.prune(adapter.engine, 2_000, batch=100, budget=None) == (150, False)
        assert pruning.prune(adapter.engine, 2_000, batch=100) == (0, False)
        assert _finished(adapter.engine) == 0


def test_maintain_goes_on_pruning_at_its_next_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass that ran out of time leaves the rest to the next ticks, not to ``prune_every``."""
    monkeypatch.setattr(pruning, "BUDGET", 0.0)  # one batch a pass
    with sql_adapter("sqlite", tmp_path) as adapter:
        add_finished(adapter.engine, 2_500, finished_at=1_000)
        backend = SQLWorkerBackend(adapter, finished_retention=0, prune_every=3600)
        pruned = [backend.maintain(30, 3)["pruned"] for _ in range(4)]
        assert pruned == [1000, 1000, 500, 0], "then nothing until prune_every has passed"
        assert _finished(adapter.engine) == 0


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mariadb"])
def test_stats_keep_three_days_of_minutes_and_ninety_of_days(database: str, tmp_path: Path) -> None:
    from jobframe_sql.engine import bump_stats, day_and_minute
    from jobframe_sql.schema import stats

    with sql_adapter(database, tmp_path) as adapter:  # type: ignore[arg-type]
        now = now_ms()
        kept_minute = now - (pruning.STATS_MINUTES_KEPT - 1) * 60_000
        old_minute = now - (pruning.STATS_MINUTES_KEPT + 1) * 60_000
        kept_day = now - (pruning.STATS_DAYS_KEPT - 1) * 86_400_000
        old_day = now - (pruning.STATS_DAYS_KEPT + 1) * 86_400_000
        with adapter.engine.begin() as conn:
            for at in (now, kept_minute, old_minute, kept_day, old_day, 5 * 60_000):
                day, minute = day_and_minute(at)
                bump_stats(conn, {("processed", day): 1, ("processed", minute): 1})
        with adapter.engine.connect() as conn:
            before = {row.period for row in conn.execute(sa.select(stats.c.period))}
        gone = pruning.prune_stats(adapter.engine, now, limit=2)  # several transactions
        with adapter.engine.connect() as conn:
            after = {row.period for row in conn.execute(sa.select(stats.c.period))}
        expected_gone = {
            day_and_minute(old_minute)[1],
            day_and_minute(old_day)[0],
            day_and_minute(old_day)[1],
            day_and_minute(kept_day)[1],
            day_and_minute(5 * 60_000)[0],
            day_and_minute(5 * 60_000)[1],  # a 1-digit-shorter minute is older
        }
        assert expected_gone <= before
        assert before - after == expected_gone and gone == len(expected_gone)
        assert day_and_minute(kept_day)[0] in after and day_and_minute(kept_minute)[1] in after
        assert pruning.prune_stats(adapter.engine, now) == 0
