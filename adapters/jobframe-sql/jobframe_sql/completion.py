"""`Completion`: the SQL worker backend's `complete` (outcomes with their retries, records,
batch counts and callbacks in one transaction), a part of
`jobframe_sql.worker_backend.SQLWorkerBackend`."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jobframe.backend.results import JobRecord
from jobframe.backend.worker import Claim, Outcome
from jobframe_sql import flow, timings
from jobframe_sql import records as record_sql
from jobframe_sql.engine import bump_stats, day_and_minute, in_transaction, now_ms
from jobframe_sql.schema import jobs

if TYPE_CHECKING:
    from jobframe_sql.adapter import SQLAdapter

#: in a payload whose row holds a unique lock or a concurrency slot (compact JSON: the keys of
#: its "flow" object); a false hit (an argument's text) costs one SELECT
HOLDS = (b'"unique":{', b'"concurrency":{')


def holds(claim: Claim) -> bool:
    payload = claim.payload
    return HOLDS[0] in payload or HOLDS[1] in payload


def _plain(outcome: Outcome, flowed: set[str]) -> bool:
    """A success that settles alone: no retry to write, no lock or slot to let go."""
    return outcome.status == "done" and not outcome.retries and outcome.claim.id not in flowed


class Completion:
    adapter: SQLAdapter
    engine: sa.Engine
    returning: bool

    @staticmethod
    def _guard(claim: Claim) -> Any:
        return sa.and_(
            jobs.c.id == claim.id, jobs.c.claim_token == claim.token, jobs.c.state == "claimed"
        )

    def complete(self, process_id: str, outcomes: list[Outcome]) -> None:
        """Settle ``outcomes`` in one transaction with their retries, records, batch counts and
        callbacks (`jobframe_sql.records`); run again whole if it was rolled back by a deadlock
        (two outcomes of one batch) or a dead connection."""
        readied, written = in_transaction(self.engine, lambda conn: self._settle(conn, outcomes))
        if written.finals or written.callbacks:
            self.adapter.results().written(written)
        if readied:
            self.adapter.wake_local()

    def _settle(
        self, conn: sa.Connection, outcomes: list[Outcome]
    ) -> tuple[int, record_sql.Written]:
        ms = now_ms()
        day, minute = day_and_minute(ms)
        flowed = {o.claim.id for o in outcomes if holds(o.claim)}
        plain = [o for o in outcomes if _plain(o, flowed)]
        counted = dict.fromkeys(("processed", "failed", "expired", "cancelled"), 0)
        info = self._info(conn, flowed)
        kept: list[JobRecord] = []
        timed: list[Outcome] = []  # the runs settled here, counted in jobframe_timings
        if plain:
            done, settled = self._settle_plain(conn, plain, ms)
            counted["processed"] += done
            kept += [r for o in plain if o.claim.id in settled for r in o.records]
            timed += [o for o in plain if o.runtime is not None and o.claim.id in settled]
        retries: list[dict[str, Any]] = []
        unlocked: list[tuple[str | None, str | None]] = []
        freed: list[Any] = []
        for outcome in outcomes:
            if _plain(outcome, flowed):
                continue  # settled above
            values: dict[str, Any] = {
                "claimed_by": None,
                "finished_at": ms,
                "attempts": outcome.attempts,
                "state": "finished",
            }
            if outcome.status in ("failed", "dead"):
                values["state"] = "failed"
                values["error"] = json.dumps(
                    {**(outcome.error or {}), "attempts": outcome.attempts}
                )
            update = sa.update(jobs).where(self._guard(outcome.claim)).values(**values)
            if conn.execute(update).rowcount != 1:
                continue  # the claim was taken back: its retries and records go with it
            if outcome.status in ("expired", "cancelled"):
                counted[outcome.status] += 1
            else:
                counted["processed"] += 1
                counted["failed"] += outcome.status != "done"
            retries += outcome.retries
            kept += outcome.records
            timed.append(outcome)
            row = info.get(outcome.claim.id)
            if row is not None:
                freed.append(row)
                if not outcome.retries:  # a retry written (retry_on) keeps the lock
                    unlocked.append((row.unique_key, row.job_id))
        if retries:
            self.adapter.insert(conn, retries)
        written = record_sql.write(conn, kept, ms)
        flow.release(conn, unlocked)
        readied = flow.settled(conn, freed, ms)
        timings.count(conn, timed, int(minute))  # before the stats row: see jobframe_sql.timings
        counts = {(kind, minute): n for kind, n in counted.items()}
        counts[("processed", day)] = counted["processed"]
        counts[("failed", day)] = counted["failed"]
        bump_stats(conn, {key: n for key, n in counts.items() if n})
        return readied, written

    def _settle_plain(
        self, conn: sa.Connection, plain: list[Outcome], ms: int
    ) -> tuple[int, set[str]]:
        """Every plain success in one guarded statement: (id, token) pairs still held. Returns
        how many it finished and, when they carry records or a run time, which (their records
        are written and their runs counted; a reaped claim's are not)."""
        pairs = [(o.claim.id, o.claim.token) for o in plain]
        held = sa.tuple_(jobs.c.id, jobs.c.claim_token).in_(pairs)
        update = (
            sa.update(jobs)
            .where(held, jobs.c.state == "claimed")
            .values(state="finished", claimed_by=None, finished_at=ms)
        )
        wanted = any(o.records or o.runtime is not None for o in plain)
        if wanted and self.returning:
            ids = set(conn.execute(update.returning(jobs.c.id)).scalars())
            return len(ids), ids
        if not wanted:
            return int(conn.execute(update).rowcount), set()
        # MariaDB (no RETURNING): the rows this statement finishes bear a token of its own, so
        # when some claims were lost they are told apart from rows finished before (by this very
        # outcome, when a transaction that committed unacknowledged is run again).
        mark = f"settled:{uuid.uuid4().hex}"
        done = int(conn.execute(update.values(claim_token=mark)).rowcount)
        if done == len(plain):
            return done, {o.claim.id for o in plain}
        ours = [o.claim.id for o in plain]
        query = sa.select(jobs.c.id).where(jobs.c.id.in_(ours), jobs.c.claim_token == mark)
        return done, set(conn.execute(query).scalars())

    @staticmethod
    def _info(conn: sa.Connection, ids: set[str]) -> dict[str, Any]:
        """The flow columns (`flow.INFO`) of the rows ``ids`` that have any."""
        if not ids:
            return {}
        query = sa.select(*flow.INFO).where(
            jobs.c.id.in_(sorted(ids)),
            sa.or_(jobs.c.unique_key.is_not(None), jobs.c.concurrency_key.is_not(None)),
        )
        return {row.id: row for row in conn.execute(query)}


__all__ = ["HOLDS", "Completion", "holds"]
