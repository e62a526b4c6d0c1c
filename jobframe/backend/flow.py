"""Flow control as a backend sees it: what a job's payload asks (`FlowControl`), and the duties
of a backend that declares each capability.

The job layer computes a job's `FlowControl` when it is enqueued (from ``@jobframe.unique``,
``@jobframe.limits_concurrency``, ``@jobframe.rate_limit``, ``timeout`` and ``expires_in``) and
writes it in the payload under ``"flow"`` (only when something is asked). Keys are already
hashed and bounded (at most 200 characters); times are Unix epoch seconds, so a Lua script or a
SQL statement compares them without parsing dates.

Duties, by `jobframe.backend.Capabilities` field (the conformance suite checks each):

``unique``
    `QueueAdapter.enqueue`, ``enqueue_at`` and ``enqueue_all`` take ``flow.unique.key`` (owner:
    the job's ``job_id``, lapsing at ``flow.unique.expires_at``) in the same atomic step as the
    write, or write nothing and refuse the job when another job holds it (one job: raise
    `jobframe.DuplicateJobError`; a batch: leave that job's ``successfully_enqueued`` False with
    the error in ``enqueue_error``, duplicates inside the batch included). A lock held by the
    same ``job_id`` (its retry) is no conflict. The lock is released, only by its owner, when
    its ``until`` point passes: ``scheduled`` when the job becomes ready (at once for a job
    enqueued ready), ``started`` when a worker claims it, ``finished`` when its claim is settled
    as done, dead, expired or cancelled, or failed with no retry written. Discarding or
    cancelling a waiting job, and the reaper sending a job dead, release it too.
``concurrency_limits``
    `WorkerBackend.fetch` never hands out a job whose ``flow.concurrency.key`` already has
    ``limit`` live slots: in the same step it moves such a job to that key's *blocked* jobs
    (state ``blocked``; not failed, no attempt counted, not polled). Otherwise the claim takes a
    slot (lapsing ``duration`` seconds later). Settling the claim (`complete`, `release`, the
    reaper) frees its slot and makes the oldest blocked job of the key ready, in the same step;
    `maintain` drops lapsed slots and readies blocked jobs of keys that have room.
``rate_limits``
    `WorkerBackend.reserve` and `WorkerBackend.defer` (the runtime throttles with them).
``expiry`` and ``timeouts``
    Nothing beyond `Outcome` statuses ``expired`` (and ``cancelled``): the runtime enforces
    them. Declared by the adapters whose jobs run in the shared worker runtime.
``cancel``
    `Inspector.cancel` and `WorkerBackend.cancelled`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Until = Literal["scheduled", "started", "finished"]
UNTIL: tuple[Until, ...] = ("scheduled", "started", "finished")
#: The longest key a backend is given (names plus a hash; backends size their columns on it).
MAX_KEY = 200


@dataclass(frozen=True)
class UniqueLock:
    """``@jobframe.unique``: no other job with this ``key`` may be waiting (or running)."""

    key: str
    until: Until
    #: epoch seconds: the lock lapses then, whatever became of its job (``for_``)
    expires_at: float


@dataclass(frozen=True)
class ConcurrencyLimit:
    """``@jobframe.limits_concurrency``: at most ``limit`` jobs of ``key`` run at once."""

    key: str
    limit: int
    #: seconds a slot stays taken at most (a slot of a worker that died lapses then)
    duration: float


@dataclass(frozen=True)
class RateLimit:
    """``@jobframe.rate_limit``: at most ``limit`` starts of ``key`` per ``period`` seconds,
    spaced evenly (one start every ``period / limit`` seconds)."""

    key: str
    limit: int
    period: float

    @property
    def interval(self) -> float:
        return self.period / self.limit


@dataclass(frozen=True)
class FlowControl:
    """What one job's payload asks of the backend and the runtime (``payload["flow"]``)."""

    unique: UniqueLock | None = None
    concurrency: ConcurrencyLimit | None = None
    rate: RateLimit | None = None
    #: epoch seconds: not started by then, the job is discarded as expired
    expires_at: float | None = None
    #: seconds the job may run
    timeout: float | None = None
    #: epoch seconds: the start the rate limiter reserved for this job (set by the runtime when
    #: it throttled the job, so it is not throttled again when it comes back)
    rate_slot: float | None = None

    def __bool__(self) -> bool:
        return not (
            self.unique is None
            and self.concurrency is None
            and self.rate is None
            and self.expires_at is None
            and self.timeout is None
            and self.rate_slot is None
        )

    def to_json(self) -> dict[str, Any]:
        """The payload's ``flow`` object (only the parts asked for)."""
        data: dict[str, Any] = {}
        if self.unique is not None:
            u = self.unique
            data["unique"] = {"key": u.key, "until": u.until, "expires_at": u.expires_at}
        if self.concurrency is not None:
            c = self.concurrency
            data["concurrency"] = {"key": c.key, "limit": c.limit, "duration": c.duration}
        if self.rate is not None:
            r = self.rate
            data["rate"] = {"key": r.key, "limit": r.limit, "period": r.period}
        for name in ("expires_at", "timeout", "rate_slot"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_json(cls, data: Any) -> FlowControl:
        """Read a payload's ``flow`` object back.

        Raises:
            TypeError, ValueError: a part of the wrong type or out of range (a foreign or
                hand-edited payload); the job layer makes it a `DeserializationError`.
        """
        if not isinstance(data, dict):
            raise TypeError(f"'flow' must be an object, got {data!r}")
        unique = concurrency = rate = None
        if data.get("unique") is not None:
            u = _object(data["unique"], "unique")
            until = u.get("until")
            if until not in UNTIL:
                raise ValueError(f"flow.unique.until must be one of {UNTIL}, got {until!r}")
            unique = UniqueLock(_key(u, "unique"), until, _number(u, "expires_at", "unique"))
        if data.get("concurrency") is not None:
            c = _object(data["concurrency"], "concurrency")
            concurrency = ConcurrencyLimit(
                _key(c, "concurrency"), _count(c, "limit"), _number(c, "duration", "concurrency")
            )
        if data.get("rate") is not None:
            r = _object(data["rate"], "rate")
            rate = RateLimit(_key(r, "rate"), _count(r, "limit"), _number(r, "period", "rate"))
            if rate.period <= 0:
                raise ValueError("flow.rate.period must be > 0")
        optional = {}
        for name in ("expires_at", "timeout", "rate_slot"):
            if data.get(name) is not None:
                optional[name] = _number(data, name, "")
        return cls(unique, concurrency, rate, **optional)


#: The flow control of a job that asks for none (one shared value: `FlowControl` is frozen)
NO_FLOW = FlowControl()


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"flow.{name} must be an object, got {value!r}")
    return value


def _key(data: dict[str, Any], name: str) -> str:
    key = data.get("key")
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY:
        raise ValueError(f"flow.{name}.key must be a string of 1-{MAX_KEY} characters")
    return key


def _number(data: dict[str, Any], field: str, part: str) -> float:
    value = data.get(field)
    where = f"flow.{part}.{field}" if part else f"flow.{field}"
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise TypeError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _count(data: dict[str, Any], field: str) -> int:
    value = data.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"flow.*.{field} must be an integer >= 1, got {value!r}")
    return value


__all__ = [
    "MAX_KEY",
    "NO_FLOW",
    "UNTIL",
    "ConcurrencyLimit",
    "FlowControl",
    "RateLimit",
    "UniqueLock",
    "Until",
]
