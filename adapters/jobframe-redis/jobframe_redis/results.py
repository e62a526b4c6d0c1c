"""`RedisResults`: the Redis adapter's `ResultStore` (job status, records, progress, batches).

Keys (see `jobframe_redis.keys`): a job is stored under its ``job_id`` on its first enqueue, and
``{p}:ids`` indexes by ``job_id`` the jobs stored under another id (a retry, a re-enqueue;
written by the enqueue scripts, removed by every script that deletes a job), so `status` is
one script call whatever the number of jobs; ``{p}:rec:<job_id>`` holds the last record
(``status|batch|ttl ms|data``, written with one ``SET ... PX``) and expires with its ttl
(Redis deletes it: no purge, no cron); ``{p}:done:<job_id>`` is the wake-up of `wait`;
batches are ``{p}:batch:<id>`` (counters, callbacks) with ``{p}:batch:<id>:jobs`` (each job's
counter, so a job is counted once) and ``{p}:batches``.

Records are written by the scripts themselves (``results.lua``): with each outcome
(``complete.lua``), for a poison pill the reaper sends dead (``maintain.lua``), for waiting jobs
`RedisInspector.cancel` cancels or an operator discards (``drop.lua``, the CLEAR script), and
by `write`. A batch's counters move and its callbacks are enqueued in the same script call as the
record or the seal that made them due, so a crash neither loses nor repeats a callback.

Decisions: a record the backend writes itself (poison pill, cancel, discard) holds only an
``error`` object; a chain link's later links get their ``cancelled`` records in the same script
call (`jobframe_redis.chains`). Jobs stored before this index existed (an upgrade with jobs waiting)
show only their records. A batch never sealed (its producer died in the ``with`` block) expires
a week after its last job was added; a finished one ``ttl`` seconds after it finished.
"""

from __future__ import annotations

import time
from typing import Any, cast

from jobframe.backend.results import (
    BatchCallback,
    BatchInfo,
    JobRecord,
    JobState,
    RecordStatus,
    ResultStore,
)
from jobframe.tracking.records import kept_ttl
from jobframe_redis import scripts
from jobframe_redis.connection import Store, now_ms

#: a batch whose ``with`` block never ended is dropped this long after it opened (seconds)
UNSEALED = 7 * 86400
#: one blocking wait is cut into calls this long (s): below the client's socket timeout, and the
#: longest a waiter takes to see the record of a job that announces none (``notify`` unset: a
#: job that stores no result; announcing every job would cost every outcome three commands)
WAIT_SLICE = 1.0
_COUNTERS = ("total", "pending", "succeeded", "failed", "dead", "discarded", "cancelled")


def history_ms() -> int:
    """The ``history_ttl`` setting (seconds, default one day) in milliseconds: how long the
    records the backend writes itself are kept."""
    return int(kept_ttl() * 1000)


def record_args(record: JobRecord) -> list[Any]:
    """A record as the scripts take it: job_id, status, data, ttl ms, batch id, notify."""
    return [
        record.job_id,
        record.status,
        record.data,
        max(1, int(record.ttl * 1000)),
        record.batch_id or "",
        1 if record.notify else 0,
    ]


def _parse(job_id: str, raw: bytes) -> JobRecord:
    """A ``{p}:rec:<job_id>`` value: ``status|batch|ttl ms|data``."""
    status, batch, ttl, data = raw.split(b"|", 3)
    record_status = cast(RecordStatus, status.decode())
    return JobRecord(job_id, record_status, data, int(ttl) / 1000, batch.decode() or None)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


class RedisResults(ResultStore):
    """Records, progress and batches under the adapter's ``{prefix}`` (see the module doc)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # redis-py replies are loosely typed: treat them as Any, as the inspector does
        self.client: Any = store.client
        client = store.client
        self._status = client.register_script(scripts.STATUS)
        self._seal = client.register_script(scripts.SEAL)
        self._write = client.register_script(scripts.WRITE)
        k = store.keys
        self._status_keys = [k.ids, k.inflight, k.dead, k.blocked, k.scheduled, k.jobs]

    def status(self, job_id: str) -> JobState:
        """One script call: the live state found through ``{p}:ids``, the record, progress."""
        store = self.store
        state, raw, progress = store.run(self._status, self._status_keys, [store.stem, job_id])
        record = _parse(job_id, raw) if raw else None
        return JobState(
            job_id, cast(Any, state.decode() or None), record, progress if progress else None
        )

    def _record(self, job_id: str) -> JobRecord | None:
        raw = self.client.get(f"{self.store.keys.base}rec:{job_id}")
        return None if raw is None else _parse(job_id, raw)

    def wait(self, job_id: str, timeout: float) -> JobRecord | None:
        """The final record, at once or when ``complete.lua`` (or another writer) pushes the
        job's wake-up list: waiters block on it with ``BLMOVE list list`` (each rotates the one
        element, so every waiter sees it), each on a connection of its own, and re-read the
        record after waking. A wake-up without a final record (it expired meanwhile) backs off
        50 ms rather than spin. Only records with ``notify`` wake waiters (jobs that store their
        result): a waiter on another job re-reads its record every `WAIT_SLICE` seconds."""
        from jobframe.backend.results import FINAL

        deadline = time.monotonic() + timeout
        done = f"{self.store.keys.base}done:{job_id}"
        while True:
            record = self._record(job_id)
            if record is not None and record.status in FINAL:
                return record
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            woke = self._block(done, min(left, WAIT_SLICE))
            if woke:
                record = self._record(job_id)
                if record is not None and record.status in FINAL:
                    return record
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def _block(self, key: str, seconds: float) -> bool:
        """BLMOVE ``key`` onto itself for up to ``seconds``: True when an element was there."""
        seconds = max(seconds, 0.001)
        wire = self.store.wire
        if wire is not None:
            reply = wire.call("BLMOVE", key, key, "LEFT", "LEFT", f"{seconds:.3f}", wait=seconds)
        else:
            reply = self.client.blmove(key, key, seconds, "LEFT", "LEFT")
        return reply is not None

    def progress(self, job_id: str, data: bytes, ttl: float) -> None:
        """One ``SET ... PX``: `status` returns it while the job runs."""
        key = f"{self.store.keys.base}prog:{job_id}"
        self.client.set(key, data, px=max(1, int(ttl * 1000)))

    def write(self, records: list[JobRecord]) -> None:
        """Every record in one script call (write.lua), with batch counting and callbacks."""
        if not records:
            return
        store = self.store
        args: list[Any] = [store.stem, now_ms()]
        for record in records:
            args += record_args(record)
        store.run(self._write, [], args)

    # -- batches ------------------------------------------------------------------------------

    def open_batch(self, batch: BatchInfo, callbacks: dict[str, BatchCallback], ttl: float) -> None:
        """The batch's hash (counters at 0, unsealed, its callbacks serialized) and its place
        in ``{p}:batches``, in one MULTI."""
        key = self._batch_key(batch.id)
        fields: dict[str, Any] = dict.fromkeys(_COUNTERS, 0)
        fields.update(
            sealed=0, created=repr(batch.created_at), ttl=max(1, int(ttl * 1000)), fired=""
        )
        if batch.description is not None:
            fields["description"] = batch.description
        for kind, cb in callbacks.items():
            fields[f"cb:{kind}"] = f"{cb.id}|{cb.queue}|{cb.priority}|{cb.job_id}"
            fields[f"pl:{kind}"] = cb.payload
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, UNSEALED)
            pipe.zadd(self.store.keys.batches, {batch.id: batch.created_at})
            pipe.execute()

    def seal_batch(self, batch_id: str) -> None:
        """seal.lua: sealed, and its callbacks fired at once if nothing is pending."""
        store = self.store
        store.run(self._seal, [], [store.stem, now_ms(), batch_id])

    def batch(self, batch_id: str) -> BatchInfo | None:
        """One HGETALL."""
        return self._info(batch_id, self.client.hgetall(self._batch_key(batch_id)))

    def batches(self, offset: int = 0, limit: int = 50) -> list[BatchInfo]:
        """Newest first: a ZREVRANGE, then one pipelined HGETALL per batch (expired ones,
        which the reaper drops from the list in passes, are skipped)."""
        client = self.client
        newest = client.zrevrange(self.store.keys.batches, offset, offset + limit - 1)
        ids = [i.decode() for i in newest]
        with client.pipeline(transaction=False) as pipe:
            for id in ids:
                pipe.hgetall(self._batch_key(id))
            replies = pipe.execute()
        found = (self._info(id, raw) for id, raw in zip(ids, replies, strict=True))
        return [info for info in found if info is not None]

    def _batch_key(self, batch_id: str) -> str:
        return f"{self.store.keys.base}batch:{batch_id}"

    @staticmethod
    def _info(batch_id: str, raw: dict[bytes, bytes]) -> BatchInfo | None:
        if not raw:
            return None
        f = {k.decode(): v for k, v in raw.items()}
        counts = {name: int(f.get(name, 0)) for name in _COUNTERS}
        finished = f.get("finished")
        fired = (f.get("fired") or b"").decode()
        callbacks = {
            name[3:]: value.decode().split("|", 4)[3]
            for name, value in f.items()
            if name.startswith("cb:")
        }
        return BatchInfo(
            id=batch_id,
            description=_text(f.get("description")),
            created_at=float(f.get("created", 0)),
            sealed=f.get("sealed") == b"1",
            finished_at=int(finished) / 1000 if finished else None,
            fired=tuple(fired.split(",")) if fired else (),
            callbacks=callbacks,
            **counts,
        )


__all__ = ["RedisResults"]
