"""The tables, on SQLAlchemy `MetaData` an application's Alembic can include.

One row per enqueued job in ``jobframe_jobs``; its ``state`` moves
``scheduled -> ready -> claimed -> finished | failed`` (or back to ``ready`` when released or
reaped; ``ready -> blocked -> ready`` while its concurrency limit is full). Claims and outcomes
are guarded by ``claim_token``. One row per recurring task in ``jobframe_recurring``: the latest
tick a scheduler claimed (`jobframe_sql.recurring`). Flow control (`jobframe_sql.flow`): unique
locks in ``jobframe_locks``, a row per concurrency key to serialize its slots on in
``jobframe_semaphores``, a rate limiter's next free start in ``jobframe_rates``.

Status, results and batches (schema version 4, `jobframe_sql.results`): a job's last record in
``jobframe_results`` and a running job's progress in ``jobframe_progress`` (both by ``job_id``,
purged by ``expires_at``); a batch's counters in ``jobframe_batches`` and which counter each of
its jobs sits in (``pending`` or a final one) in ``jobframe_batch_jobs``, so a job counted twice
(a retry, a job retried from the dead set) moves between counters instead of adding to them.

Run times per job class (schema version 5, `jobframe_sql.timings`): one row per minute and
class in ``jobframe_timings``, added to by every `complete` that settles runs of that class.

Claims from every queue (schema version 6): ``jobframe_jobs_ready`` (`READY_INDEXES`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from jobframe.backend.timings import BUCKETS_MS

SCHEMA_VERSION = 6
metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY.
_BigSeq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key_type(length: int) -> sa.types.TypeEngine[str]:
    """Flow-control keys hold class names and user values: MariaDB's default collation would make
    "Report" and "report" (or "a" and "a ") one key."""
    return sa.String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


#: ``jobframe_jobs`` columns added by schema version 3 (`jobframe_sql.db` adds them to older
#: tables); filled at enqueue from the job's `jobframe.backend.flow.FlowControl`, NULL for plain
#: jobs, so the scripts never parse a payload
FLOW_COLUMNS = (
    sa.Column("unique_key", _key_type(200)),
    sa.Column("unique_until", sa.String(16)),
    sa.Column("concurrency_key", _key_type(200)),
    sa.Column("concurrency_limit", sa.Integer),
    sa.Column("concurrency_ms", sa.BigInteger),  # how long a slot stays taken at most
    sa.Column("cancel_requested", sa.Boolean),  # a running job `Inspector.cancel` asked to stop
)

#: ``jobframe_jobs`` columns added by schema version 4: the batch a job counts in (the reaper and
#: `Inspector.cancel` count the jobs they end without reading payloads), NULL outside batches
BATCH_COLUMNS = (sa.Column("batch_id", sa.String(64)),)

#: the longest job class name kept apart in ``jobframe_timings`` (longer ones are cut there)
TIMED_CLASS_LENGTH = 255

#: ``jobframe_jobs_ready`` (schema version 6): the ready rows in claim order, for a claim from every
#: queue (``--queues '*'``, the default), which the claim index can only serve by sorting every
#: ready row: with 100,000 ready jobs each such claim took 41 ms on PostgreSQL and 187 ms on
#: MariaDB, and 0.15 ms and 0.26 ms with this index. Partial where the database can, so finished
#: history adds nothing to it; MariaDB/MySQL have no partial indexes and lead with ``state``.
READY_INDEXES = (
    sa.Index(
        "jobframe_jobs_ready",
        "priority",
        "seq",
        postgresql_where=sa.text("state = 'ready'"),
        sqlite_where=sa.text("state = 'ready'"),
    ).ddl_if(dialect=("postgresql", "sqlite")),  # type: ignore[arg-type]  # documented; stub: str
    sa.Index("jobframe_jobs_ready", "state", "priority", "seq").ddl_if(
        dialect=("mysql", "mariadb")  # type: ignore[arg-type]
    ),
)

_Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

jobs = sa.Table(
    "jobframe_jobs",
    metadata,
    sa.Column("seq", _BigSeq, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(40), nullable=False, unique=True),
    sa.Column("queue", sa.String(200), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, default=0),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("run_at", sa.BigInteger, nullable=False),  # epoch ms: due time
    sa.Column("enqueued_at", sa.BigInteger, nullable=False),
    sa.Column("job_class", sa.String(300)),
    sa.Column("job_id", sa.String(64)),
    sa.Column("payload", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claim_token", sa.String(120)),
    sa.Column("claimed_at", sa.BigInteger),
    sa.Column("crashes", sa.Integer, nullable=False, default=0),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("finished_at", sa.BigInteger),
    *FLOW_COLUMNS,
    *BATCH_COLUMNS,
    # Claiming reads (state, queue, priority, seq) in index order, whatever else the table holds.
    sa.Index("jobframe_jobs_claim", "state", "queue", "priority", "seq"),
    sa.Index("jobframe_jobs_due", "state", "run_at"),
    sa.Index("jobframe_jobs_claimed_by", "claimed_by"),
    sa.Index("jobframe_jobs_finished", "state", "finished_at"),
    sa.Index("jobframe_jobs_job_id", "job_id"),  # `Inspector.cancel` finds a job by its job_id
    # A key's live slots and oldest blocked job. Partial where the database can: plain jobs
    # (NULL key) then add nothing to it (MariaDB indexes their NULLs).
    sa.Index(
        "jobframe_jobs_concurrency",
        "concurrency_key",
        "state",
        "seq",
        postgresql_where=sa.text("concurrency_key IS NOT NULL"),
        sqlite_where=sa.text("concurrency_key IS NOT NULL"),
    ),
    *READY_INDEXES,
)

processes = sa.Table(
    "jobframe_processes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("queues", sa.String(1000), nullable=False),
    sa.Column("concurrency", sa.Integer, nullable=False),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("heartbeat_at", sa.BigInteger, nullable=False),
)

pauses = sa.Table(
    "jobframe_pauses",
    metadata,
    sa.Column("queue", sa.String(200), primary_key=True),
)

stats = sa.Table(
    "jobframe_stats",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),  # processed | failed
    sa.Column("period", sa.String(16), primary_key=True),  # YYYY-MM-DD, or an epoch minute
    sa.Column("count", sa.BigInteger, nullable=False),
)

recurring = sa.Table(
    "jobframe_recurring",
    metadata,
    # Task names are ASCII and case-sensitive: MariaDB's default collation would make "Report"
    # and "report" one key.
    sa.Column(
        "task",
        sa.String(128).with_variant(
            mysql.VARCHAR(128, charset="ascii", collation="ascii_bin"), "mysql", "mariadb"
        ),
        primary_key=True,
    ),
    # Epoch ms, like every time here: an integer compares exactly on every database (no
    # DATETIME rounding on MariaDB, no time zone handling on SQLite).
    sa.Column("last_tick", sa.BigInteger, nullable=False),
    sa.Column("job_id", sa.String(64), nullable=False),
    sa.Column("provider_id", sa.String(40), nullable=False),  # jobframe_jobs.id of its job
    sa.Column("enqueued_at", sa.BigInteger, nullable=False),
)

locks = sa.Table(
    "jobframe_locks",
    metadata,
    sa.Column("key", _key_type(200), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),  # the job_id holding it
    sa.Column("expires_at", sa.BigInteger, nullable=False),  # epoch ms: lapses then
)

semaphores = sa.Table(
    "jobframe_semaphores",
    metadata,
    # Only locked (an upsert), never read: every change to a key's slots and blocked jobs
    # happens holding this row, so two workers never both see a free slot.
    sa.Column("key", _key_type(200), primary_key=True),
    sa.Column("locked_at", sa.BigInteger, nullable=False),
)

rates = sa.Table(
    "jobframe_rates",
    metadata,
    sa.Column("key", _key_type(200), primary_key=True),
    # epoch microseconds: the next free start (GCRA's theoretical arrival time); exact integers
    # on every database, and fine enough for 1,000 starts a second
    sa.Column("tat", sa.BigInteger, nullable=False),
)

results = sa.Table(
    "jobframe_results",
    metadata,
    # job_ids are ASCII and case-sensitive (uuid4 hex by default; a caller's own otherwise)
    sa.Column("job_id", _key_type(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # a `RecordStatus`
    sa.Column("data", _Blob, nullable=False),  # JSON only the core reads
    sa.Column("batch_id", sa.String(64)),
    sa.Column("written_at", sa.BigInteger, nullable=False),  # epoch ms
    sa.Column("expires_at", sa.BigInteger, nullable=False),  # epoch ms: purged after
    sa.Index("jobframe_results_expires", "expires_at"),
)

progress = sa.Table(
    "jobframe_progress",
    metadata,
    sa.Column("job_id", _key_type(64), primary_key=True),
    sa.Column("data", _Blob, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Index("jobframe_progress_expires", "expires_at"),
)

batches = sa.Table(
    "jobframe_batches",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("description", sa.Text),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # ``pending`` is total minus the final counters: one fewer column to keep in step
    sa.Column("total", sa.BigInteger, nullable=False, default=0),
    sa.Column("succeeded", sa.BigInteger, nullable=False, default=0),
    sa.Column("failed", sa.BigInteger, nullable=False, default=0),
    sa.Column("dead", sa.BigInteger, nullable=False, default=0),
    sa.Column("discarded", sa.BigInteger, nullable=False, default=0),
    sa.Column("cancelled", sa.BigInteger, nullable=False, default=0),
    sa.Column("sealed", sa.Boolean, nullable=False, default=False),
    # the callbacks enqueued so far, comma-separated ("on_complete,on_success"); every firing is
    # an UPDATE guarded by it, so a callback is enqueued once however many transactions race
    sa.Column("fired", sa.String(64), nullable=False, default=""),
    sa.Column("finished_at", sa.BigInteger),
    sa.Column("ttl_ms", sa.BigInteger, nullable=False),  # kept this long once finished
    sa.Column("expires_at", sa.BigInteger),  # finished_at + ttl_ms; NULL while unfinished
    # {kind: {id, queue, priority, job_id, payload (text)}}: the serialized callback jobs
    sa.Column("callbacks", sa.Text, nullable=False),
    sa.Index("jobframe_batches_created", "created_at"),
    sa.Index("jobframe_batches_expires", "expires_at"),
)

batch_jobs = sa.Table(
    "jobframe_batch_jobs",
    metadata,
    # A job counts in one batch at most: its job_id is the key, and an enqueue of a job_id
    # already here (a retry, a continuation) inserts nothing and counts nothing.
    sa.Column("job_id", _key_type(64), primary_key=True),
    sa.Column("batch_id", sa.String(64), nullable=False),
    sa.Column("counter", sa.String(16), nullable=False),  # pending | a `BatchCounter`
    sa.Index("jobframe_batch_jobs_batch", "batch_id"),
)

timings = sa.Table(
    "jobframe_timings",
    metadata,
    # minute first: a range of minutes, and the purge of old ones, read the key in order
    sa.Column("minute", sa.BigInteger, primary_key=True),  # epoch minute the runs ended in
    sa.Column("job_class", _key_type(TIMED_CLASS_LENGTH), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("failed", sa.BigInteger, nullable=False),
    sa.Column("total_ms", sa.Double, nullable=False),
    # one column per bucket of `jobframe.backend.timings.BUCKETS_MS`: an upsert adds to each in
    # place on every database, where a JSON array would be read, merged and written back
    *(sa.Column(f"b{i}", sa.BigInteger, nullable=False) for i in range(len(BUCKETS_MS) + 1)),
)

versions = sa.Table(
    "jobframe_schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
)

# PostgreSQL: a row becoming ready wakes LISTENing workers from inside the same statement, so an
# enqueue costs no extra round trip for its NOTIFY. (pg_notify folds repeats within a transaction.)
_NOTIFY_FUNCTION = sa.DDL(  # type: ignore[no-untyped-call]
    "CREATE OR REPLACE FUNCTION jobframe_notify_ready() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN IF EXISTS (SELECT 1 FROM new_rows WHERE state = 'ready') THEN "
    "PERFORM pg_notify('jobframe_jobs', ''); END IF; RETURN NULL; END $$"
)
_NOTIFY_TRIGGERS = [
    sa.DDL(  # type: ignore[no-untyped-call]
        f"CREATE TRIGGER jobframe_jobs_ready_{event.lower()} AFTER {event} ON jobframe_jobs "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION jobframe_notify_ready()"
    )
    for event in ("INSERT", "UPDATE")
]
for _ddl in (_NOTIFY_FUNCTION, *_NOTIFY_TRIGGERS):
    sa.event.listen(jobs, "after_create", _ddl.execute_if(dialect="postgresql"))
