"""`SQLAdapter`: enqueue into the ``jobframe_jobs`` table; bulk is one multi-row insert."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.backend.ids import new_id
from jobframe.backend.payload import check_raw
from jobframe.errors import ConfigurationError, DuplicateJobError, EnqueueError
from jobframe.redact import mask_secrets, mask_url
from jobframe_sql import flow, pgbouncer
from jobframe_sql.engine import (
    create_engine,
    deadlocked,
    in_transaction,
    local_wake_key,
    now_ms,
    retrying,
)
from jobframe_sql.local_wake import poke
from jobframe_sql.schema import jobs
from jobframe_sql.transactional import check_same_database, current, wake_after_commit
from jobframe_sql.transactional import enqueue_in as enqueue_in  # also importable from here

if TYPE_CHECKING:
    from jobframe.doctor import Problem
    from jobframe.job.base import Job
    from jobframe_sql.inspector import SQLInspector
    from jobframe_sql.recurring import SQLRecurring
    from jobframe_sql.results import SQLResults
    from jobframe_sql.worker_backend import SQLWorkerBackend


#: the columns of an enqueued row, as `row` fills them
ROW = ("id", "queue", "priority", "state", "run_at", "enqueued_at", "job_class", "job_id",
       "payload", "crashes", "attempts", "unique_key", "unique_until", "concurrency_key",
       "concurrency_limit", "concurrency_ms", "cancel_requested", "batch_id")  # fmt: skip
#: the flow-control and batch columns, None in a plain job's row
PLAIN = dict.fromkeys(ROW[11:])


_COPY = f"COPY {jobs.name} ({', '.join(ROW)}) FROM STDIN"


def row(job: Job, at: datetime | None) -> dict[str, Any]:
    """The ``jobframe_jobs`` row for one enqueue of ``job``."""
    from jobframe_sql.worker_backend import dump

    job.provider_job_id = new_id()
    now = now_ms()
    run_at = now if at is None else int(at.timestamp() * 1000)
    return {
        "id": job.provider_job_id,
        "queue": job.queue_name,
        "priority": 0 if job.priority is None else job.priority,
        "state": "scheduled" if run_at > now else "ready",
        "run_at": run_at,
        "enqueued_at": now,
        "job_class": type(job).job_class_name(),
        "job_id": job.job_id,
        "payload": dump(job.serialize()),
        "crashes": 0,
        "attempts": 0,
        **(flow.columns(job) if job.flow else PLAIN),
        "batch_id": job.batch_id,
    }


def duplicate(job: Job) -> DuplicateJobError:
    """The error refusing ``job``, whose unique lock another job holds."""
    key = job.flow.unique.key if job.flow and job.flow.unique else ""
    return DuplicateJobError(
        f"{type(job).__qualname__} (Job ID: {job.job_id}) was not enqueued: an equal job holds "
        f"its unique lock {key!r}; it is released when that job reaches its 'until' point, or "
        "after for_.",
        key,
    )


def _bad_url(url: object, exc: Exception) -> str:
    """Why `url` cannot make an engine, its password masked (SQLAlchemy's own message for a
    URL it cannot parse may quote the whole URL)."""
    text = url if isinstance(url, str) else repr(url)
    return (
        f"the sql adapter cannot use the url {mask_url(text)!r}: {type(exc).__name__}: "
        f"{mask_secrets(str(exc), text)}. Give a SQLAlchemy database URL, e.g. "
        "sqlite:///jobframe.sqlite3 or postgresql+psycopg://user@host:5432/app, and "
        "install the driver it names."
    )


class SQLAdapter(QueueAdapter):
    """Options: ``url`` (SQLAlchemy URL; default ``sqlite:///jobframe.sqlite3``) or ``engine``,
    ``notify`` (wake idle workers on enqueue: PostgreSQL NOTIFY; elsewhere datagram sockets that
    reach the workers on the enqueuer's machine; default True); for workers ``poll_interval``
    (seconds between polls of an idle worker: 1.0 on PostgreSQL and SQLite, where every worker is
    woken; 0.1 on MariaDB and MySQL, where workers on other machines are not),
    ``finished_retention`` (seconds finished jobs are kept, 86400) and ``prune_every`` (seconds
    between pruning passes, 60); ``pgbouncer`` (PostgreSQL behind PgBouncer in transaction mode,
    `jobframe_sql.pgbouncer`); other options go to ``create_engine`` (``pool_size``, ...)."""

    name = "sql"
    capabilities = Capabilities(
        bulk=True,
        transactional_enqueue=True,
        raw_payloads=True,
        durable=True,
        pause=True,
        recurring=True,
        unique=True,
        concurrency_limits=True,
        rate_limits=True,
        expiry=True,  # the shared worker runtime enforces expiry and timeouts
        timeouts=True,
        cancel=True,
        results=True,
        batches=True,
        chains=True,
        continuations=True,
        timings=True,
    )

    def __init__(
        self,
        url: str = "sqlite:///jobframe.sqlite3",
        engine: sa.Engine | None = None,
        notify: bool = True,
        poll_interval: float | None = None,
        finished_retention: float = 86400,
        prune_every: float = 60.0,
        **engine_options: Any,
    ) -> None:
        super().__init__(url=url, **engine_options)
        try:
            self.engine = engine or create_engine(url, **engine_options)
        except (sa.exc.ArgumentError, ImportError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigurationError(_bad_url(url, exc)) from None
        self.pgbouncer = pooled = bool(engine_options.get("pgbouncer"))  # no LISTEN
        if poll_interval is None:
            woken_anywhere = self.engine.dialect.name in ("postgresql", "sqlite") and not pooled
            poll_interval = 1.0 if woken_anywhere else 0.1
        seconds = {"poll_interval": poll_interval, "finished_retention": finished_retention}
        for name, value in {**seconds, "prune_every": prune_every}.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigurationError(
                    f"sql adapter option {name!r} must be a number of seconds >= 0, got {value!r}"
                )
        self.poll_interval = float(poll_interval)
        self.finished_retention = float(finished_retention)
        self.prune_every = float(prune_every)
        self.url = mask_url(self.engine.url.render_as_string(hide_password=True))
        self.notify = notify and self.engine.dialect.name == "postgresql" and not pooled
        # SQLite keeps its own transaction handling (engine.py): no autocommit shortcut there.
        self._autocommit = (
            None
            if self.engine.dialect.name == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # SQLite and MariaDB have no LISTEN/NOTIFY: idle workers on this machine wait on local
        # sockets (local_wake.py) that an enqueue pokes once its row is committed.
        self._wake_key = local_wake_key(self.engine) if notify else None
        # A single enqueue is one INSERT on a connection of a pool that stays in autocommit: the
        # execution option above sets and resets autocommit and the isolation level on every
        # checkout and rolls back on checkin, which cost more than the INSERT (1,150/s against
        # 3,100/s for the bare driver on PostgreSQL here). Only for engines built from a URL.
        self._single: sa.Engine | None = None
        self._worker_engine: sa.Engine | None = None
        self._results: SQLResults | None = None
        if self._autocommit is not None and engine is None:
            self._single = create_engine(
                url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, **engine_options
            )
            statement = sa.insert(jobs).inline()
            self._single_sql = str(statement.compile(dialect=self._single.dialect, column_keys=ROW))

    def enqueue(self, job: Job) -> None:
        self._enqueue_one(job, row(job, None))

    def enqueue_at(self, job: Job, timestamp: datetime) -> None:
        self._enqueue_one(job, row(job, timestamp))

    def _enqueue_one(self, job: Job, values: dict[str, Any]) -> None:
        """Write one job's row, and take its unique lock in the same transaction.

        Raises:
            DuplicateJobError: another job holds its unique lock; nothing was written.
        """
        if self._write([values], [job]):
            job.provider_job_id = None
            raise duplicate(job)

    def enqueue_raw(self, queue: str, payload: bytes) -> str:
        """Store ``payload`` as is as a ready job on ``queue`` (see `QueueAdapter.enqueue_raw`);
        inside `enqueue_in` it commits with the application's transaction."""
        name, data = check_raw(queue, payload)
        now = now_ms()
        values = {
            "id": new_id(),
            "queue": name,
            "priority": 0,
            "state": "ready",
            "run_at": now,
            "enqueued_at": now,
            "job_class": None,  # known once a worker decodes it; the inspector reads the payload
            "job_id": None,
            "payload": data,
            "crashes": 0,
            "attempts": 0,
            **PLAIN,
        }
        self._write([values])
        return str(values["id"])

    def enqueue_all(self, jobs_: Sequence[Job]) -> int:
        """Write the batch in one transaction; a job whose unique lock another job holds (one
        written earlier in the batch included) is left out, with a `DuplicateJobError` as its
        ``enqueue_error``."""
        refused = set(self._write([row(job, job.scheduled_at) for job in jobs_], jobs_))
        for index, job in enumerate(jobs_):
            if index in refused:
                job.provider_job_id = None
                job.enqueue_error = duplicate(job)
            else:
                job.successfully_enqueued = True
        return len(jobs_) - len(refused)

    def _write(self, rows: list[dict[str, Any]], jobs_: Sequence[Job] = ()) -> list[int]:
        """Write ``rows`` (of ``jobs_``, when they are jobs) with their unique locks. Returns
        the indexes of the rows left out because their lock is held by another job."""
        wanted: list[flow.Lock | None] = [None] * len(rows)  # raw payloads: no job, no lock
        if jobs_:
            wanted = [flow.wanted(job, values) for job, values in zip(jobs_, rows, strict=True)]
        # A lock to take or a batch to count: the rows and those writes in one transaction.
        locking = any(wanted) or any(r.get("batch_id") for r in rows)
        refused: list[int] = []
        scope = current.get()
        try:
            if scope is not None:
                check_same_database(scope.connection, self.engine, self.url)
                refused = self.insert_locked(scope.connection, rows, wanted)
                out = set(refused)
                ready = any(r["state"] == "ready" for i, r in enumerate(rows) if i not in out)
                if ready and self._wake_key is not None and not scope.wakes:
                    wake_after_commit(scope, self._wake_key)
                return refused
            if locking:
                refused = in_transaction(self.engine, lambda c: self.insert_locked(c, rows, wanted))
            elif len(rows) == 1 and self._single is not None:
                self._insert_single(rows[0])
            else:
                retrying(lambda: self._insert_alone(rows))
            out = set(refused)
            if any(r["state"] == "ready" for i, r in enumerate(rows) if i not in out):
                self.wake_local()  # committed: idle workers on this machine look now
        except self.database_errors as exc:
            raise self.enqueue_error(exc) from exc
        return refused

    def insert_locked(
        self, conn: sa.Connection, rows: list[dict[str, Any]], wanted: list[flow.Lock | None]
    ) -> list[int]:
        """Take each row's lock, then write the rows whose lock was free (on ``conn``, in its
        transaction). Returns the indexes of the others."""
        now = now_ms()
        refused = [i for i, lock in enumerate(wanted) if lock and not flow.take(conn, lock, now)]
        if refused:
            out = set(refused)
            rows = [r for i, r in enumerate(rows) if i not in out]
        if rows:
            self.insert(conn, rows)
        return refused

    @property
    def database_errors(self) -> tuple[type[Exception], ...]:
        """The exceptions a failing database raises through this adapter's engine."""
        return (sa.exc.SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error)

    def enqueue_error(self, exc: Exception) -> EnqueueError:
        """The `EnqueueError` for a write that ``exc`` made fail, the URL's password masked."""
        secret = self.engine.url.render_as_string(hide_password=False)
        reason = mask_secrets(str(exc), secret) + pgbouncer.hint(exc)
        return EnqueueError(f"the database at {self.url} did not take the job(s): {reason}")

    def wake_local(self) -> None:
        """Without NOTIFY (SQLite, MariaDB, MySQL): wake the idle workers on this machine; call
        after a commit that made jobs ready (`local_wake`)."""
        if self._wake_key is not None:
            poke(self._wake_key)

    def _insert_single(self, values: dict[str, Any]) -> None:
        """One row, straight through the driver on an autocommit connection; a pooled connection
        found dead (the server restarted) is dropped and the INSERT sent once more."""
        assert self._single is not None
        for attempt in (1, 2, 3):
            conn = self._single.raw_connection()
            try:
                cursor = conn.cursor()
                try:
                    cursor.execute(self._single_sql, values)
                finally:
                    cursor.close()
                return
            except self._single.dialect.loaded_dbapi.Error as exc:
                dead = self._single.dialect.is_disconnect(exc, conn.dbapi_connection, None)
                if dead:
                    conn.invalidate(exc)
                if attempt == 3 or not (dead or deadlocked(exc)):
                    raise
            finally:
                conn.close()

    def _insert_alone(self, rows: list[dict[str, Any]]) -> None:
        if len(rows) == 1 and self._autocommit is not None:
            # One INSERT is atomic on its own: autocommit saves the BEGIN and COMMIT round trips.
            with self._autocommit.connect() as conn:
                self.insert(conn, rows)
            return
        with self.engine.begin() as conn:  # several pages of rows: all or nothing
            self.insert(conn, rows)

    def insert(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        """Write ``rows`` on ``conn`` (on PostgreSQL a statement trigger sends the NOTIFY), and
        count those that name a batch in it (`jobframe_sql.batches.count_enqueued`: a few
        statements per 1,000 rows, none for rows outside batches)."""
        if any(values.get("batch_id") for values in rows):
            from jobframe_sql.batches import count_enqueued

            count_enqueued(conn, rows)
        if len(rows) > 1 and conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            # COPY: 5,000 rows in ~70 ms here, against ~200 ms for the pipelined INSERTs an
            # executemany becomes (and ~340 ms for multi-row VALUES). Same transaction, same
            # triggers.
            driver: Any = conn.connection.driver_connection
            with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
                for values in rows:
                    copy.write_row([values[column] for column in ROW])
            return
        conn.execute(sa.insert(jobs), rows)

    def worker_engine(self, make: Callable[[SQLAdapter], sa.Engine]) -> sa.Engine:
        """The engine workers of this adapter share (made once by ``make``, disposed with the
        adapter); see `jobframe_sql.worker_backend`."""
        if self._worker_engine is None:
            self._worker_engine = make(self)
        return self._worker_engine

    def worker_backend(self) -> SQLWorkerBackend:
        from jobframe_sql.worker_backend import SQLWorkerBackend

        return SQLWorkerBackend(
            self,
            poll_interval=self.poll_interval,
            finished_retention=self.finished_retention,
            prune_every=self.prune_every,
        )

    def inspector(self) -> SQLInspector:
        from jobframe_sql.inspector import SQLInspector

        return SQLInspector(self)

    def recurring(self) -> SQLRecurring:
        from jobframe_sql.recurring import SQLRecurring

        return SQLRecurring(self)

    def results(self) -> SQLResults:
        """Status, results, progress and batches in this database (`jobframe_sql.results`)."""
        if self._results is None:
            from jobframe_sql.results import SQLResults

            self._results = SQLResults(self)
        return self._results

    def check(self) -> list[Problem]:
        """Whether the database answers, holds the tables at the current schema version, and,
        for SQLite, is a writable file in WAL mode; see `jobframe_sql.doctor`."""
        from jobframe_sql.doctor import check

        return check(self.engine, self.url)

    def shutdown(self, timeout: float | None = None) -> None:
        if self._results is not None:
            self._results.close()
        self.engine.dispose()
        if self._single is not None:
            self._single.dispose()
        if self._worker_engine is not None:
            self._worker_engine.dispose()
            self._worker_engine = None
