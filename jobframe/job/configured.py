"""``Job.set(wait=, wait_until=, queue=, priority=, expires_in=, store_result=, result_ttl=)``:
options for one enqueue."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from jobframe.errors import InvalidOptionError
from jobframe.job.core import hybridmethod
from jobframe.job.queue_name import prefixed, validate_queue_name
from jobframe.job.queue_priority import validate_priority

if TYPE_CHECKING:
    from jobframe.job.base import Job

J = TypeVar("J", bound="Job")


#: The longest ``wait`` (and the latest ``wait_until``, from now) a job may be scheduled for:
#: every backend stores such a time, and anything later is a mistake (a unit mix-up, ``inf``).
MAX_WAIT = timedelta(days=36500)
#: The earliest ``wait_until``: earlier times are a mistake, and not every database stores them.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: ``set()`` options of `jobframe.job.results`
RESULT_OPTIONS = frozenset({"store_result", "result_ttl"})
_WAIT_RANGE = f"from 0 to {MAX_WAIT.total_seconds():,.0f} seconds (100 years)"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def wait_seconds(wait: object, origin: str = "wait") -> float:
    """``wait`` as seconds: a timedelta or a finite number of seconds, 0 to 100 years.

    Raises:
        InvalidOptionError: another type, or a value out of that range (``inf``, ``nan``...).
    """
    if isinstance(wait, timedelta):
        seconds = wait.total_seconds()
    elif isinstance(wait, int | float) and not isinstance(wait, bool):
        try:
            seconds = float(wait)
        except OverflowError:  # an int too large for a float
            seconds = math.inf
    else:
        raise InvalidOptionError(
            f"{origin} must be a timedelta or a number of seconds, got {_shown(wait)}."
        )
    if not 0 <= seconds <= MAX_WAIT.total_seconds():  # also False for nan
        raise InvalidOptionError(f"{origin} must be {_WAIT_RANGE}, got {_shown(wait)}.")
    return seconds


def wait_until_utc(until: object, origin: str = "wait_until") -> datetime:
    """``until`` as an aware UTC datetime, from 1970 to 100 years from now.

    Raises:
        InvalidOptionError: not an aware datetime, or out of that range (``datetime.max``...).
    """
    if not isinstance(until, datetime):
        raise InvalidOptionError(f"{origin} must be a datetime, got {_shown(until)}.")
    if until.tzinfo is None or until.utcoffset() is None:
        raise InvalidOptionError(
            f"{origin} must be timezone-aware (got naive {until!r}); "
            "use datetime.now(UTC) + ... or attach a zoneinfo.ZoneInfo."
        )
    try:
        moment: datetime | None = until.astimezone(UTC)
    except OverflowError:  # e.g. datetime.max in a zone west of UTC
        moment = None
    latest = datetime.now(UTC) + MAX_WAIT
    if moment is None or not EARLIEST <= moment <= latest:
        raise InvalidOptionError(
            f"{origin} must be between 1970-01-01 and 100 years from now "
            f"({latest:%Y-%m-%d}), got {until!r}."
        )
    return moment


def validate_options(options: dict[str, Any]) -> dict[str, Any]:
    """Check ``set()`` options up front, so a bad value fails at the call site."""
    if not options:  # every plain perform_later
        return options
    known = {"wait", "wait_until", "queue", "priority", "expires_in", *RESULT_OPTIONS}
    unknown = set(options) - known
    if unknown:
        raise InvalidOptionError(
            f"unknown job option(s) {', '.join(sorted(unknown))}; use wait=, wait_until=, "
            "queue=, priority=, expires_in=, store_result= or result_ttl=."
        )
    if options.get("wait") is not None and options.get("wait_until") is not None:
        raise InvalidOptionError("pass either wait= or wait_until=, not both.")
    clean: dict[str, Any] = {}
    if options.get("wait") is not None:
        clean["wait"] = wait_seconds(options["wait"])
    if options.get("wait_until") is not None:
        clean["wait_until"] = wait_until_utc(options["wait_until"])
    if options.get("queue") is not None:
        clean["queue"] = validate_queue_name(options["queue"], "the queue= option")
    if "priority" in options:
        clean["priority"] = validate_priority(options["priority"], "priority")
    if options.get("expires_in") is not None:
        clean["expires_in"] = wait_seconds(options["expires_in"], "expires_in")
        if clean["expires_in"] <= 0:
            raise InvalidOptionError(
                f"expires_in must be more than 0 seconds, got {options['expires_in']!r}."
            )
    if options.keys() & RESULT_OPTIONS:
        from jobframe.job.results import validate_result_options

        validate_result_options(options, clean)
    return clean


def apply_options(job: Job, options: dict[str, Any]) -> None:
    """Set the queue, priority and scheduled time that validated options ask for."""
    if not options:
        return
    if "queue" in options:
        job.queue_name = prefixed(options["queue"])
    if "priority" in options:
        job.priority = options["priority"]
        job._priority_requested = options["priority"] is not None
    if "expires_in" in options:
        job._expires_in_option = options["expires_in"]
    if "store_result" in options:
        job._store_result_option = options["store_result"]
    if "result_ttl" in options:
        job._result_ttl_option = options["result_ttl"]
    if "wait" in options:
        job.scheduled_at = datetime.now(UTC) + timedelta(seconds=options["wait"])
    elif "wait_until" in options:
        job.scheduled_at = options["wait_until"]


class ConfiguredJob(Generic[J]):
    """A job class with enqueue options attached: ``Job.set(queue="urgent").perform_later(x)``.

    Generic in the job class, so ``SendJob.set(...).perform_later(x)`` is typed as a ``SendJob``.
    """

    def __init__(self, job_class: type[J], options: dict[str, Any]) -> None:
        self.job_class = job_class
        self.options = validate_options(options)

    def set(self, **options: Any) -> ConfiguredJob[J]:
        return ConfiguredJob(self.job_class, {**self.options, **options})

    def perform_later(self, *args: Any, **kwargs: Any) -> J:
        job = self.job_class(*args, **kwargs)
        job.enqueue(**self.options)
        return job

    async def aperform_later(self, *args: Any, **kwargs: Any) -> J:
        job = self.job_class(*args, **kwargs)
        await job.aenqueue(**self.options)
        return job

    def perform_now(self, *args: Any, **kwargs: Any) -> Any:
        job = self.job_class(*args, **kwargs)
        apply_options(job, self.options)
        return job.perform_now()

    def perform_all_later(self, jobs: list[J]) -> int:
        from jobframe.job.enqueuing import perform_all_later

        for job in jobs:
            apply_options(job, self.options)
        return perform_all_later(jobs)

    async def aperform_all_later(self, jobs: list[J]) -> int:
        from jobframe.job.enqueuing import aperform_all_later

        for job in jobs:
            apply_options(job, self.options)
        return await aperform_all_later(jobs)

    def __repr__(self) -> str:
        return f"<ConfiguredJob {self.job_class.__qualname__} {self.options}>"


def _set_on_class(cls: type[J], **options: Any) -> ConfiguredJob[J]:
    """Options for the next enqueue: ``wait``, ``wait_until``, ``queue``, ``priority``."""
    return ConfiguredJob(cls, options)


def _set_on_instance(job: J, **options: Any) -> J:
    apply_options(job, validate_options(options))
    return job


class _SetMethod(hybridmethod[Any]):
    """`hybridmethod` typed for ``set``: on a job class it gives a `ConfiguredJob` of that class,
    on a job the job itself (a type checker sees no more than ``Callable[..., Any]`` of a
    hybridmethod)."""

    @overload
    def __get__(self, obj: None, owner: type[J]) -> Callable[..., ConfiguredJob[J]]: ...
    @overload
    def __get__(self, obj: J, owner: type[J]) -> Callable[..., J]: ...
    def __get__(self, obj: object | None, owner: type) -> Callable[..., Any]:
        return super().__get__(obj, owner)


class Configured:
    """Adds ``set()`` to the class (returns a `ConfiguredJob`) and to instances (returns self)."""

    set = _SetMethod(_set_on_class).instance(_set_on_instance)
