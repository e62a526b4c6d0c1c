"""Writing `JobRecord` s on a connection, inside the caller's transaction: the outcome's
(`SQLWorkerBackend.complete`), the reaper's, `SQLInspector.cancel`'s, or `SQLResults.write`'s.

A record is one upserted row of ``jobframe_results`` (the last write of a ``job_id`` wins); a
final one that names a batch moves its counters (`jobframe_sql.batches.count_final`). On
PostgreSQL the waiters of final records are woken by one ``pg_notify`` on `CHANNEL` per
transaction, its payload the job ids separated by spaces, delivered at commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from jobframe.backend.results import FINAL, JobRecord
from jobframe_sql import batches
from jobframe_sql.schema import results
from jobframe_sql.upsert import upsert

#: the PostgreSQL channel final records are announced on (`jobframe_sql.result_wake`)
CHANNEL = "jobframe_results"
#: a NOTIFY payload must stay under 8,000 bytes: ids are sent in groups this long at most
_PAYLOAD = 7000


@dataclass
class Written:
    """What a transaction that wrote records must do once committed."""

    #: the job ids of final records: waiters in this process are woken
    finals: list[str] = field(default_factory=list)
    #: callbacks enqueued ready: idle workers are woken
    callbacks: int = 0
    #: final records with ``notify``: waiters in other processes on this machine are woken
    #: (SQLite, MariaDB; PostgreSQL's NOTIFY went with the commit)
    notify: bool = False

    def add(self, other: Written) -> None:
        self.finals += other.finals
        self.callbacks += other.callbacks
        self.notify = self.notify or other.notify


def write(conn: sa.Connection, records: list[JobRecord], now: int) -> Written:
    """Write ``records`` with their batch counting in ``conn``'s transaction."""
    if not records:
        return Written()
    last = {record.job_id: record for record in records}  # one row per key in one statement
    upsert(
        conn,
        results,
        [
            {
                "job_id": r.job_id,
                "status": r.status,
                "data": r.data,
                "batch_id": r.batch_id,
                "written_at": now,
                "expires_at": now + max(0, round(r.ttl * 1000)),
            }
            for r in last.values()
        ],
    )
    finals = [r for r in last.values() if r.status in FINAL]
    fired = batches.count_final(conn, finals, now)
    woken = [r.job_id for r in finals if r.notify]
    if woken and conn.dialect.name == "postgresql":
        for payload in _payloads(woken):
            conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))
    return Written([r.job_id for r in finals], fired, bool(woken))


def _payloads(ids: list[str]) -> list[str]:
    payloads: list[str] = []
    current: list[str] = []
    size = 0
    for job_id in ids:
        if current and size + len(job_id) + 1 > _PAYLOAD:
            payloads.append(" ".join(current))
            current, size = [], 0
        current.append(job_id)
        size += len(job_id) + 1
    if current:
        payloads.append(" ".join(current))
    return payloads


__all__ = ["CHANNEL", "Written", "write"]
