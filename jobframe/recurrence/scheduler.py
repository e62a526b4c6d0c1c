"""`Scheduler`: enqueues each due tick of the recurring tasks through the backend's
`RecurringStore`, which lets exactly one scheduler claim a tick.

Every ``jobframe work`` runs one in a thread (``jobframe scheduler`` runs only it). A scheduler
sleeps until the next tick of any task (at most `MAX_SLEEP`), then, for each task, claims each
tick due since the last one it knows of, oldest first (a scheduler that woke late claims the
ticks it slept through, up to `MAX_LATE`):

- a task with an earlier claim (by any scheduler, in any process) and ``catch_up = "last"``
  gets its latest missed tick once when a scheduler comes back after a gap; older ones are
  skipped, never enqueued as a burst;
- with ``catch_up = "none"``, or for a task never claimed before (a new task must not fire at
  once for a tick it was not there for), only ticks at or after this scheduler's start count.

A backend fault is logged (without secrets) and the tick is tried again a second later; the
claim wrote nothing, so the tick is neither lost nor doubled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from jobframe.backend.capabilities import unsupported
from jobframe.errors import DuplicateJobError
from jobframe.job.enqueuing import enqueue_claimed
from jobframe.redact import mask_secrets

if TYPE_CHECKING:
    from jobframe.backend.adapter import QueueAdapter
    from jobframe.backend.recurring import RecurringStore
    from jobframe.job.base import Job
    from jobframe.recurrence.task import RecurringTask

logger = logging.getLogger("jobframe.recurring")

#: The longest a scheduler sleeps between looks at the clock (seconds), so a wrong system clock
#: that is corrected, or a task whose next tick is far away, is seen again within this.
MAX_SLEEP = 60.0
#: The most ticks of one task a scheduler claims in one look, when it slept through several
#: (a stalled process, a suspended host): the latest ones; older ones are skipped, not a burst.
MAX_LATE = 10
_SECOND = timedelta(seconds=1)
#: How long a scheduler waits before it tries a tick again after a backend fault (seconds).
RETRY_AFTER = 1.0


def store_of(adapter: QueueAdapter) -> RecurringStore:
    """``adapter``'s `RecurringStore`.

    Raises:
        UnsupportedError: the adapter cannot run recurring tasks (names one that can).
    """
    store = adapter.recurring() if type(adapter).capabilities.recurring else None
    if store is None:
        raise unsupported(adapter, "recurring")
    return store


def _now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Enqueues the due ticks of ``tasks`` on ``adapter``.

    Parameters:
        adapter: where jobs are enqueued; its ``capabilities.recurring`` must be True.
        tasks: the tasks to run (`jobframe.recurrence.tasks()`).
        clock: the current time as an aware datetime (tests pass their own).

    Raises:
        UnsupportedError: the adapter cannot run recurring tasks.
    """

    def __init__(
        self,
        adapter: QueueAdapter,
        tasks: Sequence[RecurringTask],
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.adapter = adapter
        self.store = store_of(adapter)
        self.tasks = list(tasks)
        self.clock = clock
        self.started = clock().astimezone(UTC).replace(microsecond=0)
        #: the latest tick of each task known to be claimed (here or by another scheduler)
        self._claimed: dict[str, datetime] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def due(self, now: datetime) -> list[tuple[RecurringTask, datetime]]:
        """The ticks this scheduler would claim at ``now``, one per task at most."""
        if self._claimed is None:
            self._claimed = {name: run.tick for name, run in self.store.last_runs().items()}
        found: list[tuple[RecurringTask, datetime]] = []
        for task in self.tasks:
            found.extend((task, tick) for tick in self._ticks(task, now))
        return found

    def _ticks(self, task: RecurringTask, now: datetime) -> list[datetime]:
        """``task``'s ticks to claim at ``now``, oldest first: the latest one missed before this
        scheduler started (``catch_up = "last"``, for a task claimed before), then every tick
        since it started that it has not seen claimed yet (a scheduler that woke late, on a
        loaded machine, claims the ticks it slept through, at most `MAX_LATE` of them)."""
        assert self._claimed is not None
        last = self._claimed.get(task.name)
        latest = task.schedule.latest_at_or_before(now)
        if last is not None and latest <= last:
            return []
        ticks: list[datetime] = []
        before_start = task.schedule.latest_at_or_before(self.started - _SECOND)
        if (
            last is not None
            and task.catch_up == "last"
            and before_start > last
            and before_start <= now
        ):
            ticks.append(before_start)
        tick = max(last or before_start, before_start)
        since_start: list[datetime] = []
        while True:
            tick = task.schedule.next_after(tick)
            if tick > now:
                break
            since_start.append(tick)
            if len(since_start) > MAX_LATE:
                del since_start[0]  # a scheduler that slept long: only the latest ticks
        return ticks + since_start

    def run_once(self, now: datetime | None = None) -> list[Job]:
        """Claim what is due at ``now`` (default: the clock); return the jobs this scheduler
        enqueued (the ticks another scheduler had claimed are not among them).

        Raises:
            EnqueueError: the backend failed for a task; the tasks before it were enqueued,
                the others are tried at the next call.
        """
        now = (now or self.clock()).astimezone(UTC)
        enqueued = []
        for task, tick in self.due(now):
            job = task.job(tick)
            try:
                claimed = enqueue_claimed(
                    job, self.adapter, partial(self.store.claim, task.name, tick)
                )
            except DuplicateJobError as exc:
                # @jobframe.unique on the task's job, and its last run still holds the lock: this
                # tick is skipped (nothing was written), not tried again each second.
                logger.info("Skipped the tick at %s of recurring task %r: %s",
                            tick.isoformat(), task.name, exc)  # fmt: skip
                claimed = False
            if claimed:
                enqueued.append(job)
            assert self._claimed is not None
            self._claimed[task.name] = tick  # claimed here or elsewhere: never claimed again
        return enqueued

    def next_tick(self, now: datetime) -> datetime | None:
        """The earliest tick after ``now`` of any task."""
        ticks = [task.schedule.next_after(now) for task in self.tasks]
        return min(ticks) if ticks else None

    # -- running in a thread --------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None) -> None:
        """Enqueue due ticks until ``stop`` is set (or `stop` is called)."""
        stop = stop or self._stop
        if not self.tasks:
            return
        logger.info(
            "Scheduler started: %d recurring task(s) on %s: %s",
            len(self.tasks), self.adapter.name, ", ".join(task.name for task in self.tasks),
        )  # fmt: skip
        pause = 0.0
        while not stop.wait(pause):
            try:
                self.run_once()
            except Exception as exc:  # a backend outage, or a store's own error:
                # the thread must outlive it (it is the only scheduler of its process)
                logger.warning(
                    "Scheduler could not enqueue a recurring task (tried again in %.0fs): %s: %s",
                    RETRY_AFTER, type(exc).__name__, mask_secrets(str(exc)),
                )  # fmt: skip
                self._claimed = None  # read the marks again: another scheduler may have gone on
                pause = RETRY_AFTER
                continue
            now = self.clock()
            following = self.next_tick(now)
            wait = MAX_SLEEP if following is None else (following - now).total_seconds()
            pause = min(max(wait, 0.0), MAX_SLEEP)

    def start(self) -> threading.Thread:
        """Run `run` in a daemon thread (``jobframe-scheduler``) and return it."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="jobframe-scheduler", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread `start` began and wait for it (at most ``timeout`` seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def scheduling_adapter() -> QueueAdapter:
    """The adapter the schedulers of this configuration claim ticks on: the configured one
    (the dashboard's Recurring page reads it, knowing no backend)."""
    from jobframe import queue_adapters

    return queue_adapters.get()


def run_now(task: RecurringTask) -> Job:
    """Enqueue ``task``'s job now, out of schedule (``jobframe recurring run``, the dashboard's
    "run now"). It carries ``recurring_task`` but no tick, and claims none: the schedule goes
    on as before.

    Raises:
        EnqueueError: the backend failed; nothing was enqueued.
    """
    return task.job(None).enqueue()


__all__ = ["MAX_SLEEP", "Scheduler", "run_now", "scheduling_adapter", "store_of"]
