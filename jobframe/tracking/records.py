"""What a job's `JobRecord` says, and how it is encoded: the only place that writes and reads
``JobRecord.data`` (a JSON object, `jobframe.backend.results`).

Every key of the data is optional when read: a backend writes ``{}`` or only ``{"error": ...}``
for a job it ended itself (a reaped poison pill, a job cancelled while it waited), and an older
record may lack newer keys. Times are epoch seconds.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from jobframe import arguments
from jobframe.backend.results import FINAL, JobRecord, RecordStatus
from jobframe.config import settings

if TYPE_CHECKING:
    from jobframe.backend.worker import Status
    from jobframe.job.base import Job

#: the `jobframe.backend.worker.Outcome` statuses and the record status each gives, before the
#: job's own say (``discard_on`` and ``retry_on`` turn a ``done`` into discarded / retrying)
OUTCOME_STATUS: dict[str, RecordStatus] = {
    "done": "succeeded",
    "failed": "failed",
    "dead": "dead",
    "expired": "discarded",
    "cancelled": "cancelled",
}


def record_status(outcome: Status, job: Job | None) -> RecordStatus:
    """The record status of a job whose claim ended with ``outcome``.

    ``done`` is ``discarded`` when ``discard_on`` took the job's error and ``retrying`` when
    ``retry_on`` scheduled another attempt (flags the job sets in `jobframe.job.exceptions`).
    """
    if outcome == "done" and job is not None and job._handled_as is not None:
        return job._handled_as
    return OUTCOME_STATUS[outcome]


#: one encoder for every record: `json.dumps` with options builds a new one per call (a third
#: of a record's cost, measured on 20,000 no-op jobs)
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=str)


def encode(data: dict[str, Any]) -> bytes:
    """A record's or a progress write's data as compact JSON bytes."""
    return _ENCODER.encode(data).encode()


def decode(data: bytes | str | None) -> dict[str, Any]:
    """A record's data; ``{}`` for nothing, or for bytes that are not a JSON object (a record
    written by a buggy producer must not break ``job.status()``)."""
    if not data:
        return {}
    try:
        found = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    return found if isinstance(found, dict) else {}


def history_ttl() -> float:
    """Seconds to keep the record of a job that stores no result (the ``history_ttl``
    setting, default one day)."""
    return float(settings().history_ttl)


#: how long the record of a job in a batch or a chain is kept when ``history_ttl`` is 0
#: (its batch and the next link read it)
LINKED_TTL = 86400.0


def ttl_of(job: Job | None) -> float:
    """How long ``job``'s record is kept: its ``result_ttl`` when it stores its result, else
    ``history_ttl`` (`LINKED_TTL` for a job in a batch or a chain when that is 0)."""
    if job is not None and job._stores_result():
        return job._result_ttl_seconds()
    return kept_ttl()


def kept_ttl() -> float:
    """Seconds to keep a record that is written at all: ``history_ttl``, or `LINKED_TTL` when
    that is 0 (what backends use for the records they write themselves, and batches)."""
    ttl = history_ttl()
    return ttl if ttl > 0 else LINKED_TTL


def linked(job: Job) -> bool:
    """Whether something else reads ``job``'s record: its batch, or its chain."""
    return job.batch_id is not None or job.chain_info is not None


def kept(job: Job) -> bool:
    """Whether ``job``'s run gets a record at all: always, unless ``history_ttl`` is 0 and
    the job stores no result and is in no batch or chain (the fastest setting: a worker then
    writes nothing more per job than before records existed)."""
    return history_ttl() > 0 or job._stores_result() or linked(job)


def job_fields(job: Job) -> dict[str, Any]:
    """What a record says of the job itself: class, queue, attempts, when it was enqueued, and
    the fields other parts of the core add (`jobframe.job.results.Results._record_fields`)."""
    data: dict[str, Any] = {
        "job_class": job.job_class_name(),
        "queue": job.queue_name,
        "attempts": job.executions,
    }
    if job.enqueued_at is not None:
        data["enqueued_at"] = job.enqueued_at.timestamp()
    data.update(job._record_fields())
    return data


def build(
    job_id: str,
    status: RecordStatus,
    job: Job | None = None,
    *,
    error: dict[str, Any] | None = None,
    started_at: float | None = None,
    progress: dict[str, Any] | None = None,
    result: Any = None,
    has_result: bool = False,
    extra: dict[str, Any] | None = None,
) -> JobRecord:
    """The record of one attempt's end. ``result`` is already serialized (`serialize_result`)
    and kept only with ``has_result``; ``error`` is `jobframe.worker.execution.error_info`'s
    shape (an ``attempts`` key in it is dropped: the record has its own)."""
    finished_at = time.time()
    if error is not None:
        error = {k: v for k, v in error.items() if k != "attempts"}
    if job is not None and not extra:
        stores = job._stores_result()
        fields = job._record_fields()
        data = _encode_fast(
            job, fields, finished_at, started_at, error, progress, has_result, result
        )
        if data is not None:
            batch_id = fields.get("batch_id") if fields else None
            return JobRecord(
                job_id,
                status,
                data,
                job._result_ttl_seconds() if stores else kept_ttl(),
                batch_id if isinstance(batch_id, str) else None,
                stores and status in FINAL,
            )
    found = data_of(job, finished_at, started_at, error, progress, has_result, result, extra)
    stores = job is not None and job._stores_result()
    return JobRecord(
        job_id,
        status,
        encode(found),
        ttl_of(job),
        batch_id=found.get("batch_id") if isinstance(found.get("batch_id"), str) else None,
        notify=stores and status in FINAL,
    )


def data_of(
    job: Job | None,
    finished_at: float,
    started_at: float | None,
    error: dict[str, Any] | None,
    progress: dict[str, Any] | None,
    has_result: bool,
    result: Any,
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    """A record's data as a dictionary (`build`'s general path; ``error`` without its
    ``attempts``)."""
    found: dict[str, Any] = job_fields(job) if job is not None else {}
    found["finished_at"] = finished_at
    if started_at is not None:
        found["started_at"] = started_at
    if error is not None:
        found["error"] = error
    if progress is not None:
        found["progress"] = progress
    found["has_result"] = has_result
    if has_result:
        found["result"] = result
    if extra:
        found.update(extra)
    return found


#: the keys `build` writes itself: a job's `_record_fields` naming one of them overrides it in
#: place, which only the dictionary path gets right
_OWN_KEYS = frozenset(
    ("job_class", "queue", "attempts", "enqueued_at", "finished_at", "started_at", "error",
     "progress", "has_result", "result")
)  # fmt: skip

#: ``{"job_class":...,"queue":...,"attempts":`` per (class, queue), encoded once (bounded: a
#: queue name per job would otherwise grow it without end)
_HEADS: dict[tuple[type, str], str] = {}


def _encode_fast(
    job: Job,
    fields: dict[str, Any],
    finished_at: float,
    started_at: float | None,
    error: dict[str, Any] | None,
    progress: dict[str, Any] | None,
    has_result: bool,
    result: Any,
) -> bytes | None:
    """`encode` of what `build` puts in the dictionary, byte for byte, joined from parts: the
    head made once per class and queue, the numbers by ``repr`` (as `json` writes them), the
    nested values by the one encoder. None when a value is not of the plain type this assumes
    (then the dictionary path writes it). A no-op job's record: 4.4 -> 1.6 us to encode
    (timeit, best of 9)."""
    attempts, queue = job.executions, job.queue_name
    if type(attempts) is not int or type(queue) is not str or type(finished_at) is not float:
        return None
    if fields and not _OWN_KEYS.isdisjoint(fields):
        return None
    head = _HEADS.get((type(job), queue))
    if head is None:
        head = _ENCODER.encode({"job_class": job.job_class_name(), "queue": queue})
        head = head[:-1] + ',"attempts":'
        if len(_HEADS) < 1024:
            _HEADS[(type(job), queue)] = head
    text = f"{head}{attempts!r}"
    if job.enqueued_at is not None:
        text = f'{text},"enqueued_at":{job.enqueued_at.timestamp()!r}'
    if fields:
        text = f"{text},{_ENCODER.encode(fields)[1:-1]}"
    text = f'{text},"finished_at":{finished_at!r}'
    if started_at is not None:
        if type(started_at) is not float:
            return None
        text = f'{text},"started_at":{started_at!r}'
    if error is not None:
        text = f'{text},"error":{_ENCODER.encode(error)}'
    if progress is not None:
        text = f'{text},"progress":{_ENCODER.encode(progress)}'
    if has_result:
        return f'{text},"has_result":true,"result":{_ENCODER.encode(result)}}}'.encode()
    return f'{text},"has_result":false}}'.encode()


def serialize_result(job: Job, value: Any) -> Any:
    """``value`` as a record keeps it (the argument serializers' JSON).

    Raises:
        SerializationError: it cannot be serialized; the message names the job, the type and
            the fix.
    """
    from jobframe.errors import SerializationError

    try:
        return arguments.serialize_value(value, "result")
    except SerializationError as exc:
        name = type(job).__qualname__
        raise SerializationError(
            f"{name}.perform() returned a value of type {type(value).__qualname__}, which "
            f"cannot be stored as its result: {exc} Return what a job argument may be, or set "
            "store_result = False."
        ) from exc


def result_of(data: dict[str, Any]) -> Any:
    """The stored result of a record's decoded data (`serialize_result` undone)."""
    return arguments.deserialize_value(data.get("result"), "result")


__all__ = [
    "OUTCOME_STATUS",
    "build",
    "data_of",
    "decode",
    "encode",
    "history_ttl",
    "job_fields",
    "kept",
    "kept_ttl",
    "linked",
    "record_status",
    "result_of",
    "serialize_result",
    "ttl_of",
]
