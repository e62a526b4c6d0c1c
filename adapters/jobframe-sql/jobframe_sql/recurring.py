"""`SQLRecurring`: the SQL backend's `RecurringStore`, one row per task in ``jobframe_recurring``.

A claim is one transaction: move the task's mark (``UPDATE ... WHERE last_tick < :tick``, or, for
the task's first claim, an INSERT that the primary key refuses to a second scheduler), write the
job's row as `SQLAdapter.enqueue` does (taking a ``@jobframe.unique`` job's lock with it), commit.
A refused claim rolls back, and so does a lock held by another job (`DuplicateJobError`) or a fault
at any step: nothing is written. Two schedulers making a task's first claim at once collide on the
key: the second INSERT waits for the first transaction, then fails as a duplicate (or, on MariaDB,
is chosen as a deadlock victim); the loser starts again and the UPDATE decides it against the row
the winner committed. On SQLite every transaction takes the write lock at BEGIN
(`jobframe_sql.engine.create_engine`): claims queue.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from jobframe.backend.recurring import RecurringRun, RecurringStore
from jobframe.errors import EnqueueError
from jobframe.redact import mask_secrets
from jobframe_sql import flow
from jobframe_sql.adapter import duplicate, row
from jobframe_sql.engine import deadlocked
from jobframe_sql.schema import recurring

if TYPE_CHECKING:
    from jobframe.job.base import Job
    from jobframe_sql.adapter import SQLAdapter

#: How many times a claim is started again after a collision that rolled it back whole (a
#: duplicate first claim, a deadlock, a pooled connection found dead before anything was sent).
ATTEMPTS = 5


class _Again(Exception):
    """This attempt was rolled back whole, by a cause that a new attempt does not meet again."""

    def __init__(self, cause: sa.exc.DBAPIError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _epoch_ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _datetime(ms: int) -> datetime:
    # Whole milliseconds, exactly: ms / 1000 would go through a float.
    return datetime.fromtimestamp(ms // 1000, UTC) + timedelta(milliseconds=ms % 1000)


class SQLRecurring(RecurringStore):
    """Tick marks in ``jobframe_recurring``, on the adapter's engine."""

    def __init__(self, adapter: SQLAdapter) -> None:
        self.adapter = adapter

    def claim(self, task: str, tick: datetime, job: Job) -> bool:
        """See `RecurringStore.claim`.

        Raises:
            DuplicateJobError: ``job``'s unique lock is held by another job; nothing was written.
            EnqueueError: the database failed; nothing was written, or all of it was.
        """
        adapter = self.adapter
        attempt = 1
        try:
            while True:
                try:
                    claimed = self._attempt(task, _epoch_ms(tick), job)
                    break
                except _Again as again:
                    if attempt == ATTEMPTS:
                        raise again.cause from None
                    attempt += 1
        except adapter.database_errors as exc:
            job.provider_job_id = None
            raise adapter.enqueue_error(exc) from exc
        if claimed:
            adapter.wake_local()  # committed: idle workers on this machine look now
        else:
            job.provider_job_id = None  # refused: no row has this id
        return claimed

    def _attempt(self, task: str, tick: int, job: Job) -> bool:
        """One transaction: claim ``tick`` and write ``job`` with its unique lock, or write
        nothing.

        Raises:
            DuplicateJobError: the tick is free but another job holds ``job``'s unique lock.
        """
        values = row(job, None)  # ready: its tick is due
        mark = {
            "last_tick": tick,
            "job_id": job.job_id,
            "provider_id": values["id"],
            "enqueued_at": values["enqueued_at"],
        }
        sent = False
        with self.adapter.engine.connect() as conn:
            try:
                moved = conn.execute(
                    sa.update(recurring)
                    .where(recurring.c.task == task, recurring.c.last_tick < tick)
                    .values(**mark)
                ).rowcount
                sent = True
                if not moved:
                    known = sa.select(recurring.c.task).where(recurring.c.task == task)
                    found = conn.execute(known).first() is not None
                    # Either way, end this transaction: on MariaDB the UPDATE of a missing key
                    # holds a gap lock that, kept, deadlocks with every other first claim's
                    # INSERT (8 racing schedulers then needed more than 4 attempts, now 2).
                    conn.rollback()
                    if found:
                        return False  # claimed already, at this tick or a later one
                    conn.execute(sa.insert(recurring).values(task=task, **mark))
                # Locked after the mark: a tick another scheduler claimed is refused as such
                # (False), not as a duplicate of the job that scheduler just wrote.
                if self.adapter.insert_locked(conn, [values], [flow.wanted(job, values)]):
                    conn.rollback()
                    job.provider_job_id = None
                    raise duplicate(job)
                conn.commit()
            except sa.exc.DBAPIError as exc:
                stale = exc.connection_invalidated and not sent  # the pool's, dead since
                racing = isinstance(exc, sa.exc.IntegrityError)  # a racing first claim
                if stale or racing or (exc.orig is not None and deadlocked(exc.orig)):
                    raise _Again(exc) from exc
                raise
        return True

    def last_runs(self) -> dict[str, RecurringRun]:
        """Every task's mark, read with one SELECT.

        Raises:
            EnqueueError: the database could not be read (the scheduler tries again later).
        """
        adapter = self.adapter
        try:
            with adapter.engine.connect() as conn:
                rows = conn.execute(sa.select(recurring)).all()
        except adapter.database_errors as exc:
            secret = adapter.engine.url.render_as_string(hide_password=False)
            raise EnqueueError(
                f"the database at {adapter.url} could not give the recurring tasks' last runs: "
                f"{mask_secrets(str(exc), secret)}"
            ) from exc
        return {
            r.task: RecurringRun(
                task=r.task,
                tick=_datetime(r.last_tick),
                job_id=r.job_id,
                enqueued_at=_datetime(r.enqueued_at),
                provider_id=r.provider_id,
            )
            for r in rows
        }


__all__ = ["ATTEMPTS", "SQLRecurring"]
