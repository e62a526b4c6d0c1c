"""Recurring tasks on a backend: its `RecurringStore` claims each tick once however many
schedulers race, refuses ticks older than a claimed one, reports the last runs, and the jobs it
enqueues carry their task and tick; `Scheduler` catches up once and only once.

The schedulers here run in threads of the test's process, on a clock the test sets: the claim is
one atomic step in the backend (a script, a transaction), so threads race as processes would.
The test that runs three real ``jobframe work`` processes and kills one is in
`recurring_processes`.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.recurring import RecurringStore
from jobframe.job.enqueuing import enqueue_claimed
from jobframe.recurrence import RecurringTask, Scheduler
from jobframe.recurrence.scheduler import MAX_LATE
from jobframe.testing.conformance.base import ConformanceBase, require, require_inspector
from jobframe.testing.conformance_jobs import RecordingJob, UniqueJob, read

#: a fixed instant the tests' clocks start from (a Monday, whole minute)
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _name(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def _task(journal: str, schedule: str = "every second", catch_up: str = "last") -> RecurringTask:
    return RecurringTask.build(
        _name("conformance"), RecordingJob, schedule, args=(journal, "tick"), catch_up=catch_up
    )


def _claim(adapter: QueueAdapter, task: RecurringTask, tick: datetime) -> bool:
    """Claim ``tick`` of ``task`` with a new job, as a scheduler does."""
    store = adapter.recurring()
    assert store is not None
    job = task.job(tick)
    return enqueue_claimed(job, adapter, lambda j: store.claim(task.name, tick, j))


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecurringTests(ConformanceBase):
    """What a backend that declares ``Capabilities.recurring`` guarantees."""

    def _store(self, adapter: QueueAdapter) -> RecurringStore:
        require(adapter, "recurring")
        store = adapter.recurring()
        assert store is not None
        return store

    def test_recurring_is_declared_exactly_when_a_store_is_given(
        self, adapter: QueueAdapter
    ) -> None:
        declared = type(adapter).capabilities.recurring
        assert declared == (adapter.recurring() is not None), (
            f"{adapter!r}: Capabilities.recurring is {declared} but recurring() returned "
            f"{adapter.recurring()!r}"
        )

    def test_a_tick_is_enqueued_once_however_many_claim_it_at_once(
        self, active: QueueAdapter, journal: str
    ) -> None:
        self._store(active)
        task = _task(journal)
        barrier = threading.Barrier(8)
        results: list[bool] = []

        def race() -> None:
            barrier.wait(10)
            results.append(_claim(active, task, T0))

        threads = [threading.Thread(target=race) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(results) == [False] * 7 + [True]
        [entry] = self._wait_for(active, journal, 1)
        assert entry["recurring_task"] == task.name
        assert entry["scheduled_at"] == T0.isoformat()
        time.sleep(0.2)  # a second copy would have run by now, on the worker that ran the first
        assert len(read(journal)) == 1

    def test_a_tick_not_later_than_a_claimed_one_is_refused(
        self, active: QueueAdapter, journal: str
    ) -> None:
        self._store(active)
        task = _task(journal)
        assert _claim(active, task, T0 + timedelta(seconds=10))
        assert not _claim(active, task, T0 + timedelta(seconds=10))
        assert not _claim(active, task, T0 + timedelta(seconds=9))
        assert _claim(active, task, T0 + timedelta(seconds=11))
        other = _task(journal)  # marks are per task
        assert _claim(active, other, T0)
        entries = self._wait_for(active, journal, 3)
        assert sorted((e["recurring_task"], e["scheduled_at"]) for e in entries) == sorted(
            [
                (task.name, (T0 + timedelta(seconds=10)).isoformat()),
                (task.name, (T0 + timedelta(seconds=11)).isoformat()),
                (other.name, T0.isoformat()),
            ]
        )

    def test_last_runs_give_each_tasks_latest_tick_and_job(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        store = self._store(quiet)
        task, other = _task(journal), _task(journal)
        assert task.name not in store.last_runs()
        first, second = task.job(T0), task.job(T0 + timedelta(minutes=1))
        before = datetime.now(UTC) - timedelta(seconds=1)
        assert enqueue_claimed(first, quiet, lambda j: store.claim(task.name, T0, j))
        tick = T0 + timedelta(minutes=1)
        assert enqueue_claimed(second, quiet, lambda j: store.claim(task.name, tick, j))
        assert _claim(quiet, other, T0)
        runs = store.last_runs()
        run = runs[task.name]
        assert (run.task, run.tick, run.job_id) == (task.name, tick, second.job_id)
        assert run.tick.tzinfo is not None and run.tick.utcoffset() == timedelta(0)
        assert before <= run.enqueued_at <= datetime.now(UTC) + timedelta(seconds=1)
        assert runs[other.name].tick == T0

    def test_racing_schedulers_enqueue_every_tick_exactly_once(
        self, active: QueueAdapter, journal: str
    ) -> None:
        self._store(active)
        task = _task(journal)
        clock = _Clock(T0)
        schedulers = [Scheduler(active, [task], clock=clock) for _ in range(3)]
        for second in range(5):
            now = T0 + timedelta(seconds=second, milliseconds=300)
            barrier = threading.Barrier(len(schedulers))

            def run(
                scheduler: Scheduler, now: datetime = now, gate: threading.Barrier = barrier
            ) -> None:
                gate.wait(10)
                scheduler.run_once(now)

            threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        self._wait_for(active, journal, 5)
        time.sleep(0.2)
        ticks = sorted(e["scheduled_at"] for e in read(journal))
        assert ticks == [(T0 + timedelta(seconds=s)).isoformat() for s in range(5)]

    def test_a_scheduler_that_comes_back_enqueues_the_latest_missed_tick_once(
        self, active: QueueAdapter, journal: str
    ) -> None:
        self._store(active)
        task = _task(journal, "every minute")
        assert _claim(active, task, T0)
        later = T0 + timedelta(hours=1, seconds=20)  # 60 ticks were missed
        scheduler = Scheduler(active, [task], clock=_Clock(later))
        [job] = scheduler.run_once()
        assert job.scheduled_at == T0 + timedelta(hours=1)
        assert scheduler.run_once() == []
        assert Scheduler(active, [task], clock=_Clock(later)).run_once() == []
        entries = self._wait_for(active, journal, 2)
        assert sorted(e["scheduled_at"] for e in entries) == [
            T0.isoformat(), (T0 + timedelta(hours=1)).isoformat()
        ]  # fmt: skip

    def test_a_scheduler_that_woke_late_claims_each_tick_it_slept_through(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        store = self._store(quiet)
        task = _task(journal)
        scheduler = Scheduler(quiet, [task], clock=_Clock(T0))
        assert [j.scheduled_at for j in scheduler.run_once(T0 + timedelta(milliseconds=300))] == [
            T0
        ]
        late = scheduler.run_once(T0 + timedelta(seconds=3, milliseconds=500))
        assert [j.scheduled_at for j in late] == [T0 + timedelta(seconds=s) for s in (1, 2, 3)]
        asleep = scheduler.run_once(T0 + timedelta(minutes=5))  # capped: the latest ones only
        assert [j.scheduled_at for j in asleep] == [
            T0 + timedelta(minutes=5, seconds=s) for s in range(-MAX_LATE + 1, 1)
        ]
        assert store.last_runs()[task.name].tick == T0 + timedelta(minutes=5)

    def test_a_tick_is_skipped_while_the_last_run_of_a_unique_job_holds_its_lock(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        store = self._store(quiet)
        require(quiet, "unique")
        inspector = require_inspector(quiet)
        task = RecurringTask.build(_name("unique"), UniqueJob, "every second", args=(journal, "u"))
        scheduler = Scheduler(quiet, [task], clock=_Clock(T0))
        [first] = scheduler.run_once(T0 + timedelta(milliseconds=300))
        # the first run still waits, holding its lock (until="finished"): the next tick is skipped
        assert scheduler.run_once(T0 + timedelta(seconds=1, milliseconds=300)) == []
        assert store.last_runs()[task.name].tick == T0, "a skipped tick is not recorded"
        waiting = [info for info in inspector.jobs("ready") if info.job_id == first.job_id]
        assert len(waiting) == 1 and inspector.count("ready") == 1
        assert inspector.discard([waiting[0].id], state="ready") == 1  # the lock is released
        [third] = scheduler.run_once(T0 + timedelta(seconds=2, milliseconds=300))
        assert third.scheduled_at == T0 + timedelta(seconds=2)
        assert (
            Scheduler(quiet, [task], clock=_Clock(T0)).run_once(
                T0 + timedelta(seconds=2, milliseconds=400)
            )
            == []
        ), "the lock of the job just enqueued holds"

    def test_catch_up_none_skips_missed_ticks(self, quiet: QueueAdapter, journal: str) -> None:
        store = self._store(quiet)
        task = _task(journal, "every minute", catch_up="none")
        assert _claim(quiet, task, T0)
        clock = _Clock(T0 + timedelta(hours=1, seconds=20))
        scheduler = Scheduler(quiet, [task], clock=clock)
        assert scheduler.run_once() == []
        [job] = scheduler.run_once(T0 + timedelta(hours=1, minutes=1))
        assert job.scheduled_at == T0 + timedelta(hours=1, minutes=1)
        assert store.last_runs()[task.name].tick == job.scheduled_at

    def test_a_new_task_waits_for_its_first_tick_after_the_scheduler_starts(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        self._store(quiet)
        task = _task(journal, "0 3 * * *")
        scheduler = Scheduler(quiet, [task], clock=_Clock(T0))  # 08:00, after today's 03:00
        assert scheduler.run_once() == []
        [job] = scheduler.run_once(T0 + timedelta(hours=19, seconds=1))
        assert job.scheduled_at == datetime(2026, 1, 6, 3, 0, tzinfo=UTC)
        assert job.recurring_task == task.name

    def test_the_scheduler_thread_enqueues_ticks_as_they_come(
        self, active: QueueAdapter, journal: str
    ) -> None:
        self._store(active)
        task = _task(journal)
        scheduler = Scheduler(active, [task])
        scheduler.start()

        def done() -> bool:
            return len(read(journal)) >= 2

        deadline = time.monotonic() + self.wait_timeout
        try:
            while not done() and time.monotonic() < deadline:
                if type(active).capabilities.performs_in_caller:
                    time.sleep(0.05)  # the scheduler's thread performs them as it enqueues
                else:
                    self.drain(active, done, 1.0)
        finally:
            scheduler.stop()
        entries = read(journal)
        assert len(entries) >= 2, f"two ticks expected within {self.wait_timeout}s: {entries}"
        ticks = [datetime.fromisoformat(e["scheduled_at"]) for e in entries]
        assert len(set(ticks)) == len(ticks)
        assert all(t.microsecond == 0 and t >= scheduler.started for t in ticks)
