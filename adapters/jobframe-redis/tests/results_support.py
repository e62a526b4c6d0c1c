"""Helpers for the direct tests of `jobframe_redis.results`: payloads as the core writes them,
stored and claimed through the adapter's own scripts (no job classes needed: nothing performs)."""

from __future__ import annotations

import uuid
from typing import Any

from jobframe.backend.ids import new_id
from jobframe.backend.results import JobRecord, RecordStatus
from jobframe.backend.worker import Claim, Outcome, ProcessInfo, Status
from jobframe_redis.adapter import RedisAdapter
from jobframe_redis.connection import dump, now_ms

PROCESS = "p1"


def payload(job_id: str, queue: str = "default", **extra: Any) -> bytes:
    """A payload laid out as `jobframe.job.core.Job.serialize` lays it out, plus ``extra``
    (``batch_id``, ``store_result``...)."""
    data: dict[str, Any] = {
        "version": 1,
        "job_class": "ResultsJob",
        "job_id": job_id,
        "provider_job_id": None,
        "queue_name": queue,
        "priority": None,
        "arguments": [{"job_id": "not-me"}],  # a decoy: only the top-level key is the job's
        "kwargs": {"batch_id": "not-a-batch"},
        "executions": 0,
    }
    data.update(extra)
    return dump(data)


def enqueue(
    adapter: RedisAdapter,
    job_id: str | None = None,
    *,
    at_ms: int = 0,
    queue: str = "default",
    **extra: Any,
) -> tuple[str, str]:
    """Store one job through ENQUEUE, as `jobframe_redis.adapter.entry` gives it (job_id and
    batch id beside the payload); returns (backend id, job_id)."""
    job_id = job_id or uuid.uuid4().hex
    id = new_id()
    data = payload(job_id, queue, **extra)
    adapter.store.enqueue_one((id, queue, 0, at_ms, data, job_id, extra.get("batch_id", "")))
    return id, job_id


def claim_all(adapter: RedisAdapter, limit: int = 100) -> list[Claim]:
    backend = adapter.worker_backend()
    backend.register(ProcessInfo(PROCESS, ["*"], 1))
    return backend.fetch(PROCESS, ["*"], limit, 0)


def record(
    job_id: str,
    status: RecordStatus = "succeeded",
    *,
    batch: str | None = None,
    ttl: float = 60,
    data: bytes = b'{"has_result":true,"result":42}',
) -> JobRecord:
    return JobRecord(job_id, status, data, ttl, batch, notify=True)


def finish(
    adapter: RedisAdapter,
    claim: Claim,
    status: Status = "done",
    records: tuple[JobRecord, ...] = (),
    retries: tuple[Any, ...] = (),
) -> None:
    """Complete ``claim`` with ``records`` (and ``retries``) in one COMPLETE call."""
    error = None if status == "done" else {"class": "ValueError", "message": "boom"}
    outcome = Outcome(claim, status, error, 1, retries, records)
    adapter.worker_backend().complete(PROCESS, [outcome])


def job_id_of(claim: Claim) -> str:
    import json

    return str(json.loads(claim.payload)["job_id"])


__all__ = ["claim_all", "enqueue", "finish", "job_id_of", "now_ms", "payload", "record"]
