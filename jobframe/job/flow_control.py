"""Flow control declared on a job class: ``@unique``, ``@limits_concurrency``, ``@rate_limit``,
``timeout`` and ``expires_in``; turned into the payload's `FlowControl` when a job is enqueued.

The backend enforces what needs all workers to agree (locks, slots, the rate limiter) in its own
atomic steps, the worker runtime what one worker can (time limits, expiry): see
`jobframe.backend.flow`. A key callable receives ``perform``'s arguments; its result is
serialized like an argument (a model becomes its GlobalID) and hashed, so a key is bounded
whatever it holds and never shows an argument's value in the backend.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from jobframe import arguments
from jobframe.backend.flow import (
    NO_FLOW,
    UNTIL,
    ConcurrencyLimit,
    FlowControl,
    RateLimit,
    UniqueLock,
    Until,
)
from jobframe.errors import Cancelled, InvalidOptionError, JobDefinitionError
from jobframe.job.configured import wait_seconds

if TYPE_CHECKING:
    from jobframe.backend.inspector import CancelResult
    from jobframe.job.base import Job

C = TypeVar("C", bound=type)
Key = Callable[..., Any] | str | None
OnConflict = Literal["skip", "raise"]
#: ``N/second``, ``N/minute``, ``N/hour`` (also ``N/s``, ``N/min``, ``N/h``, ``N/day``)
_RATE = re.compile(r"\s*(\d+)\s*/\s*(second|sec|s|minute|min|m|hour|h|day|d)\s*", re.IGNORECASE)
_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
#: The longest readable part of a key; longer names are hashed
_NAME = re.compile(r"[A-Za-z0-9_.:@/-]{1,120}")

DEFAULT_UNIQUE_FOR = timedelta(hours=1)
DEFAULT_CONCURRENCY_DURATION = timedelta(minutes=15)


@dataclass(frozen=True)
class UniqueSpec:
    key: Key
    for_: float
    until: Until
    on_conflict: OnConflict


@dataclass(frozen=True)
class ConcurrencySpec:
    to: int
    key: Key
    duration: float
    group: str | None


@dataclass(frozen=True)
class RateSpec:
    limit: int
    period: float
    key: Key


def _check_key(key: object, where: str) -> None:
    if key is not None and not callable(key) and not isinstance(key, str):
        raise InvalidOptionError(
            f"{where}(key=) must be a callable taking perform's arguments, a string or None, "
            f"got {key!r}."
        )


def _seconds(value: object, where: str) -> float:
    seconds = wait_seconds(value, where)
    if seconds <= 0:
        raise InvalidOptionError(f"{where} must be more than 0 seconds, got {value!r}.")
    return seconds


def unique(
    key: Key = None,
    for_: timedelta | float = DEFAULT_UNIQUE_FOR,
    until: Until = "finished",
    on_conflict: OnConflict = "skip",
) -> Callable[[C], C]:
    """Class decorator: enqueue no job while an equal one (same class and key) is waiting.

    Parameters:
        key: ``callable(*args, **kwargs)`` of ``perform``'s arguments, or a string; None: all
            the arguments.
        for_: the lock lapses after this long whatever happens (default 1 hour).
        until: when the lock is released: ``"scheduled"`` (the job became ready),
            ``"started"`` (a worker took it) or ``"finished"`` (default: it ended, retries
            included).
        on_conflict: ``"skip"`` (default: ``perform_later`` returns the job with
            ``successfully_enqueued`` False and ``enqueue_error`` a `DuplicateJobError`) or
            ``"raise"`` (it raises that error).
    """
    _check_key(key, "unique")
    if until not in UNTIL:
        raise InvalidOptionError(f"unique(until=) must be one of {UNTIL}, got {until!r}.")
    if on_conflict not in ("skip", "raise"):
        raise InvalidOptionError(
            f"unique(on_conflict=) must be 'skip' or 'raise', got {on_conflict!r}."
        )
    spec = UniqueSpec(key, _seconds(for_, "unique(for_=)"), until, on_conflict)

    def decorate(cls: C) -> C:
        cls._unique_spec = spec  # type: ignore[attr-defined]
        return cls

    return decorate


def limits_concurrency(
    to: int,
    key: Key = None,
    duration: timedelta | float = DEFAULT_CONCURRENCY_DURATION,
    group: str | None = None,
) -> Callable[[C], C]:
    """Class decorator: at most ``to`` jobs with the same key run at once, on every worker.

    Parameters:
        to: the number of slots (>= 1).
        key: ``callable(*args, **kwargs)`` of ``perform``'s arguments, or a string; None: one
            limit for the whole class (or ``group``).
        duration: a slot lapses after this long (a worker that died frees it then; default 15
            minutes): set it above the job's longest run.
        group: a name classes share, so their jobs count against one limit.
    """
    if not isinstance(to, int) or isinstance(to, bool) or to < 1:
        raise InvalidOptionError(f"limits_concurrency(to=) must be an int >= 1, got {to!r}.")
    _check_key(key, "limits_concurrency")
    if group is not None and not (isinstance(group, str) and _NAME.fullmatch(group)):
        raise InvalidOptionError(
            f"limits_concurrency(group=) must be 1-120 letters, digits and _ . : @ / -, "
            f"got {group!r}."
        )
    spec = ConcurrencySpec(to, key, _seconds(duration, "limits_concurrency(duration=)"), group)

    def decorate(cls: C) -> C:
        cls._concurrency_spec = spec  # type: ignore[attr-defined]
        return cls

    return decorate


def rate_limit(rate: str, key: Key = None) -> Callable[[C], C]:
    """Class decorator: at most N starts per second, minute or hour (``"100/minute"``),
    spaced evenly; a start over the limit is put back until its turn, counted as throttled,
    not as an attempt or a failure.

    Parameters:
        rate: ``"N/second"``, ``"N/minute"``, ``"N/hour"`` (or ``/s``, ``/min``, ``/h``).
        key: a string classes share (``"github-api"``), ``callable(*args, **kwargs)``, or None
            (one limit for the class).
    """
    match = _RATE.fullmatch(rate) if isinstance(rate, str) else None
    if match is None or int(match.group(1)) < 1:
        raise InvalidOptionError(
            f"rate_limit() takes 'N/second', 'N/minute' or 'N/hour' with N >= 1, got {rate!r}."
        )
    _check_key(key, "rate_limit")
    spec = RateSpec(int(match.group(1)), _PERIODS[match.group(2)[0].lower()], key)

    def decorate(cls: C) -> C:
        cls._rate_spec = spec  # type: ignore[attr-defined]
        return cls

    return decorate


def _digest(value: Any) -> str:
    encoded = arguments.serialize((value,), {})[0]
    text = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _name(value: Any) -> str:
    """A key part: a short plain string as is, anything else hashed."""
    if isinstance(value, str) and _NAME.fullmatch(value):
        return value
    return _digest(value)


def _key_value(key: Key, job: Job) -> Any:
    if callable(key):
        try:
            return key(*job.args, **job.kwargs)
        except Exception as exc:
            raise JobDefinitionError(
                f"the key of {type(job).__qualname__}'s flow control raised "
                f"{type(exc).__name__}: {exc}; a key takes perform's arguments."
            ) from exc
    return key


class FlowControlled:
    """``timeout``, ``expires_in`` and the flow-control decorators' specs, on the class; the
    computed `FlowControl` on each job (``job.flow``)."""

    #: how long a run may take (a timedelta or seconds); the worker stops it after that
    timeout: ClassVar[timedelta | float | None] = None
    #: a job not started this long after it was enqueued is dropped as expired
    expires_in: ClassVar[timedelta | float | None] = None
    _unique_spec: ClassVar[UniqueSpec | None] = None
    _concurrency_spec: ClassVar[ConcurrencySpec | None] = None
    _rate_spec: ClassVar[RateSpec | None] = None

    #: ``set(expires_in=)`` of this enqueue, in seconds
    _expires_in_option: float | None = None

    def compute_flow(self) -> FlowControl:
        """This job's `FlowControl`, from its class and options, as of now."""
        job: Any = self
        cls = type(job)
        if (
            self._expires_in_option is None
            and cls._unique_spec is None
            and cls._concurrency_spec is None
            and cls._rate_spec is None
            and cls.timeout is None
            and cls.expires_in is None
        ):
            # Most jobs ask for nothing: one shared empty value, nothing computed (building it
            # cost every perform_later about 3 us, 1.27x of a two-argument enqueue).
            return NO_FLOW
        now = time.time()
        name = cls.job_class_name()[:150]
        unique = concurrency = rate = None
        if cls._unique_spec is not None:
            spec = cls._unique_spec
            value = _key_value(spec.key, job) if spec.key is not None else (job.args, job.kwargs)
            unique = UniqueLock(f"{name}:{_digest(value)}", spec.until, now + spec.for_)
        if cls._concurrency_spec is not None:
            c = cls._concurrency_spec
            base = c.group or name
            part = "" if c.key is None else ":" + _name(_key_value(c.key, job))
            concurrency = ConcurrencyLimit(f"{base}{part}"[:200], c.to, c.duration)
        if cls._rate_spec is not None:
            r = cls._rate_spec
            key = name if r.key is None else _name(_key_value(r.key, job))
            rate = RateLimit(key, r.limit, r.period)
        expires_in = self._expires_in_option
        if expires_in is None and cls.expires_in is not None:
            expires_in = _seconds(cls.expires_in, f"{cls.__qualname__}.expires_in")
        timeout = None
        if cls.timeout is not None:
            timeout = _seconds(cls.timeout, f"{cls.__qualname__}.timeout")
        return FlowControl(
            unique=unique,
            concurrency=concurrency,
            rate=rate,
            expires_at=None if expires_in is None else now + expires_in,
            timeout=timeout,
        )

    #: set (from the worker's thread) when `jobframe.cancel` asked this running job to stop
    _cancel_requested: bool = False

    @property
    def cancelled(self) -> bool:
        """True once `jobframe.cancel` asked this running job to stop (seen by its worker
        within about a second). Check it, or call `check_cancelled`, where stopping is safe."""
        return self._cancel_requested

    def check_cancelled(self) -> None:
        """A checkpoint: raise `jobframe.Cancelled` if this job was asked to stop.

        Raises:
            Cancelled: `cancelled` is True; the worker settles the job as cancelled.
        """
        if self._cancel_requested:
            job: Any = self
            raise Cancelled(f"{type(job).__qualname__} (Job ID: {job.job_id}) was cancelled")

    def cancel(self) -> CancelResult:
        """Cancel this job (see `jobframe.cancel`) on its class's adapter."""
        from jobframe.cancellation import cancel

        job: Any = self
        return cancel(job.job_id, type(job).adapter())

    @classmethod
    def on_duplicate(cls) -> OnConflict:
        """What ``perform_later`` does when the backend refuses a duplicate."""
        return cls._unique_spec.on_conflict if cls._unique_spec is not None else "skip"


__all__ = ["FlowControlled", "limits_concurrency", "rate_limit", "unique"]
