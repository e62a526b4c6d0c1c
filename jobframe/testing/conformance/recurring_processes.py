"""Recurring tasks with real ``jobframe work`` processes (issue #13): three workers, each running
its scheduler, share an every-second task; one is SIGKILLed and restarted while they run, and
every tick between the first and the last one claimed is enqueued exactly once.

The task's job (`RecordingJob`) writes its ``scheduled_at`` (the tick) to a journal. A job that
was running in the killed worker runs again elsewhere (at-least-once), so ticks are counted by
distinct ``job_id``: one job per tick, however often it ran.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from jobframe.backend.adapter import QueueAdapter
from jobframe.recurrence import store_of
from jobframe.testing.conformance.base import ConformanceBase, require
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.conformance_jobs import RecordingJob, read
from jobframe.testing.workers import wait_until

#: distinct ticks the workers must enqueue before the kill, and again after the restart
TICKS_PER_PHASE = 3


def add_every_second_task(harness: WorkerHarness, name: str, journal: str) -> None:
    """Add ``[recurring.NAME]``, an every-second `RecordingJob`, to the workers' configuration."""
    config = harness.folder / "jobframe.toml"
    table = (
        f"\n[recurring.{json.dumps(name)}]\n"
        f'job = "{RecordingJob.__module__}:{RecordingJob.__qualname__}"\n'
        'schedule = "every second"\n'
        f'args = [{json.dumps(journal)}, "tick"]\n'
    )
    config.write_text(config.read_text() + table)


def jobs_by_tick(journal: str, name: str) -> dict[datetime, set[str]]:
    """The distinct job ids the journal holds for each tick of task ``name``."""
    found: dict[datetime, set[str]] = defaultdict(set)
    for line in read(journal):
        if line.get("recurring_task") == name and line.get("scheduled_at"):
            found[datetime.fromisoformat(line["scheduled_at"])].add(line["job_id"])
    return found


class RecurringProcessTests(ConformanceBase):
    @pytest.mark.slow
    def test_three_workers_one_killed_enqueue_each_tick_exactly_once(
        self, adapter: QueueAdapter, workers: WorkerHarness, tmp_path: Path
    ) -> None:
        require(adapter, "recurring")
        name = f"every-second-{uuid.uuid4().hex[:8]}"
        journal = str(tmp_path / "ticks.jsonl")
        add_every_second_task(workers, name, journal)

        def ticks() -> int:
            return len(jobs_by_tick(journal, name))

        procs = [workers.start() for _ in range(3)]
        wait_until(lambda: ticks() >= TICKS_PER_PHASE, 40, f"{TICKS_PER_PHASE} ticks to run")
        workers.check_alive()
        workers.kill(procs[1])
        before_restart = ticks()
        workers.start()
        wait_until(lambda: ticks() >= before_restart + TICKS_PER_PHASE, 40,
                   "ticks to run after the restart")  # fmt: skip
        workers.check_alive()
        workers.stop()  # SIGTERM: schedulers stop first, running jobs finish

        last = store_of(adapter).last_runs()[name].tick
        first = min(jobs_by_tick(journal, name))
        seconds = int((last - first).total_seconds())
        expected = [first + timedelta(seconds=n) for n in range(seconds + 1)]
        drainer = workers.start("--no-recurring")  # runs what was enqueued but not yet worked
        try:
            wait_until(lambda: set(expected) <= set(jobs_by_tick(journal, name)), 30,
                       f"every tick from {first} to {last} to run")  # fmt: skip
        except AssertionError:
            missing = sorted(set(expected) - set(jobs_by_tick(journal, name)))
            raise AssertionError(f"ticks never enqueued (or lost): {missing}") from None
        finally:
            workers.terminate(drainer)

        found = jobs_by_tick(journal, name)
        assert sorted(found) == expected, "a tick outside the claimed range was enqueued"
        doubled = {tick: ids for tick, ids in found.items() if len(ids) != 1}
        assert not doubled, f"ticks enqueued more than once: {doubled}"
        assert len(expected) >= 2 * TICKS_PER_PHASE
