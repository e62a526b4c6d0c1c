"""The test helper behind the pytest fixture ``jobs`` and `JobTestCase`.

Counting assertions work two ways, as in Rails: ``jobs.assert_enqueued_jobs(2)`` checks what is
enqueued now; ``with jobs.assert_enqueued_jobs(2): signup()`` checks what the block enqueued.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from jobframe import arguments, queue_adapters
from jobframe.errors import SerializationError
from jobframe.job.queue_name import prefixed
from jobframe.log_values import loggable_repr
from jobframe.queue_adapters.test import EnqueuedJob, TestAdapter
from jobframe.testing._with import called_by_with

if TYPE_CHECKING:
    from jobframe.job.base import Job
    from jobframe.recurrence import RecurringTask

JobFilter = type | Iterable[type] | Callable[[EnqueuedJob], bool] | None
_AT_TOLERANCE = timedelta(seconds=1)


def _class_filter(spec: JobFilter, default: bool) -> Callable[[EnqueuedJob], bool]:
    if spec is None:
        return lambda record: default
    if isinstance(spec, type):
        classes: tuple[type, ...] = (spec,)
    elif callable(spec):
        return spec
    else:
        classes = tuple(spec)
    return lambda record: issubclass(record.job_class, classes)


def _queue_names(queue: str | None) -> tuple[str, ...] | None:
    """A queue as the test names it, and as the configured prefix makes it."""
    return None if queue is None else (queue, prefixed(queue))


def make_filter(
    only: JobFilter = None, except_: JobFilter = None, queue: str | None = None
) -> Callable[[EnqueuedJob], bool]:
    """A predicate over recorded jobs: class in ``only``, not in ``except_``, on ``queue``."""
    wanted, unwanted = _class_filter(only, True), _class_filter(except_, False)
    names = _queue_names(queue)
    return lambda r: wanted(r) and not unwanted(r) and (names is None or r.queue in names)


def _same_arguments(
    record: EnqueuedJob, args: tuple[Any, ...] | None, kwargs: dict[str, Any] | None
) -> bool:
    """Whether the recorded job got `args` (or `kwargs`), as Rails compares them: by their
    serialized form, so a model matches the freshly located copy the record holds by GlobalID.
    Values that cannot be serialized (``unittest.mock.ANY``...) are compared as they are."""
    try:
        want_args, want_kwargs = arguments.serialize(args or (), kwargs or {})
    except SerializationError:
        pass
    else:
        if args is not None and want_args == record.payload["arguments"]:
            return True
        if kwargs is not None and want_kwargs == record.payload["kwargs"]:
            return True
    return record.args == args if args is not None else record.kwargs == kwargs


def _listing(records: list[EnqueuedJob], what: str) -> str:
    if not records:
        return f"No jobs were {what}."
    lines = "\n".join(f"  - {r.describe()}" for r in records)
    return f"{len(records)} job(s) were {what}:\n{lines}"


class _Block:
    """The context manager form of an assertion: checks the jobs the block added."""

    def __init__(
        self,
        enter: Callable[[], Any],
        check: Callable[[Any], Any],
        restore: Callable[[Any], None] | None = None,
    ) -> None:
        self._enter, self._check, self._restore, self._state = enter, check, restore, None
        self.result: Any = None

    def __enter__(self) -> _Block:
        self._state = self._enter()
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is None:
            self.result = self._check(self._state)
        elif self._restore is not None:
            self._restore(self._state)


class JobsHelper:
    """Assertions over the jobs enqueued and performed through a `TestAdapter`."""

    def __init__(self, adapter: TestAdapter | None = None) -> None:
        self.adapter = adapter or TestAdapter()

    @contextmanager
    def installed(self) -> Iterator[JobsHelper]:
        """Route every job to this helper's test adapter while the block runs."""
        with queue_adapters.override(self.adapter):
            yield self

    @property
    def enqueued_jobs(self) -> list[EnqueuedJob]:
        return self.adapter.enqueued_jobs

    @property
    def performed_jobs(self) -> list[EnqueuedJob]:
        return self.adapter.performed_jobs

    def clear_enqueued_jobs(self) -> None:
        self.adapter.enqueued_jobs.clear()

    @property
    def recurring(self) -> list[RecurringTask]:
        """The recurring tasks of the application (declared with `jobframe.recurring` and from
        the configuration of the current environment), checked as a scheduler checks them."""
        from jobframe.recurrence import tasks

        return tasks()

    def tick(self, at: datetime) -> list[Job]:
        """Enqueue every recurring task that has a tick at ``at`` (an aware datetime, to the
        second), as a scheduler would at that instant, and return the jobs enqueued.

        Each tick is claimed as on a real backend: ticking the same instant twice enqueues
        nothing the second time. ``jobs.tick(at=datetime(2026, 1, 5, 8, tzinfo=UTC))``.
        """
        from jobframe.job.enqueuing import enqueue_claimed
        from jobframe.recurrence import store_of, tasks

        if not isinstance(at, datetime) or at.tzinfo is None:
            raise TypeError(f"tick(at=) needs an aware datetime, got {at!r}")
        instant = at.astimezone(UTC).replace(microsecond=0)
        enqueued: list[Job] = []
        with self.installed():
            for task in tasks():
                if task.schedule.latest_at_or_before(instant) != instant:
                    continue
                job = task.job(instant)
                adapter = job.adapter()
                claim = partial(store_of(adapter).claim, task.name, instant)
                if enqueue_claimed(job, adapter, claim):
                    enqueued.append(job)
        return enqueued

    def _count(
        self,
        records: list[EnqueuedJob],
        what: str,
        number: int,
        matches: Callable[..., bool],
        since: int = 0,
    ) -> None:
        found = [r for r in records[since:] if matches(r)]
        if len(found) != number:
            raise AssertionError(
                f"Expected {number} matching job(s) {what}, found {len(found)}. "
                + _listing(records[since:], what)
            )

    def assert_enqueued_jobs(
        self,
        number: int,
        only: JobFilter = None,
        except_: JobFilter = None,
        queue: str | None = None,
    ) -> _Block | None:
        """Exactly ``number`` matching jobs are enqueued (or enqueued by the ``with`` block)."""
        matches = make_filter(only, except_, queue)
        if called_by_with():
            return _Block(
                lambda: len(self.enqueued_jobs),
                lambda n0: self._count(self.enqueued_jobs, "enqueued", number, matches, n0),
            )
        self._count(self.enqueued_jobs, "enqueued", number, matches)
        return None

    def assert_no_enqueued_jobs(
        self, only: JobFilter = None, except_: JobFilter = None, queue: str | None = None
    ) -> _Block | None:
        if called_by_with():
            matches = make_filter(only, except_, queue)
            return _Block(
                lambda: len(self.enqueued_jobs),
                lambda n0: self._count(self.enqueued_jobs, "enqueued", 0, matches, n0),
            )
        return self.assert_enqueued_jobs(0, only, except_, queue)

    def assert_performed_jobs(
        self,
        number: int,
        only: JobFilter = None,
        except_: JobFilter = None,
        queue: str | None = None,
    ) -> _Block | None:
        """Exactly ``number`` matching jobs were performed (or, with ``with``, by the block).

        In the ``with`` form, jobs enqueued inside the block are performed as they are enqueued.
        """
        matches = make_filter(only, except_, queue)
        if called_by_with():
            return _Block(
                lambda: self._start_performing(matches),
                lambda state: self._finish_performing(state, number, matches),
                restore=self._stop_performing,
            )
        self._count(self.performed_jobs, "performed", number, matches)
        return None

    def assert_no_performed_jobs(
        self, only: JobFilter = None, except_: JobFilter = None, queue: str | None = None
    ) -> _Block | None:
        matches = make_filter(only, except_, queue)
        if called_by_with():
            return _Block(
                lambda: self._start_performing(matches),
                lambda state: self._finish_performing(state, 0, matches),
                restore=self._stop_performing,
            )
        self._count(self.performed_jobs, "performed", 0, matches)
        return None

    def _start_performing(self, matches: Callable[..., bool]) -> tuple[int, Any]:
        previous = self.adapter.perform_immediately
        self.adapter.perform_immediately = matches
        return len(self.performed_jobs), previous

    def _stop_performing(self, state: tuple[int, Any]) -> None:
        self.adapter.perform_immediately = state[1]

    def _finish_performing(
        self, state: tuple[int, Any], number: int, matches: Callable[..., bool]
    ) -> None:
        since, previous = state
        self.adapter.perform_immediately = previous
        self._count(self.performed_jobs, "performed", number, matches, since)

    def _find(
        self,
        records: list[EnqueuedJob],
        what: str,
        since: int,
        job: type | None,
        args: Iterable[Any] | None,
        kwargs: dict[str, Any] | None,
        queue: str | None,
        priority: int | None,
        at: datetime | None,
    ) -> EnqueuedJob:
        expected_args = None if args is None else tuple(args)
        for record in records[since:]:
            if job is not None and record.job_class is not job:
                continue
            if queue is not None and record.queue not in _queue_names(queue):  # type: ignore[operator]
                continue
            if priority is not None and record.priority != priority:
                continue
            if at is not None and (record.at is None or abs(record.at - at) > _AT_TOLERANCE):
                continue
            if expected_args is not None and not _same_arguments(record, expected_args, None):
                continue
            if kwargs is not None and not _same_arguments(record, None, kwargs):
                continue
            return record
        wanted = {
            k: v
            for k, v in dict(
                job=job, args=args, kwargs=kwargs, queue=queue, priority=priority, at=at
            ).items()
            if v is not None
        }
        shown = loggable_repr(wanted)  # models as gid://..., as in the listing
        raise AssertionError(f"No job {what} with {shown}. " + _listing(records[since:], what))

    def assert_enqueued_with(
        self,
        job: type | None = None,
        args: Iterable[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        queue: str | None = None,
        priority: int | None = None,
        at: datetime | None = None,
    ) -> Any:
        """A job matching every given field is enqueued; returns its record (or the block)."""
        spec = (job, args, kwargs, queue, priority, at)
        if called_by_with():
            return _Block(
                lambda: len(self.enqueued_jobs),
                lambda n0: self._find(self.enqueued_jobs, "enqueued", n0, *spec),
            )
        return self._find(self.enqueued_jobs, "enqueued", 0, *spec)

    def assert_performed_with(
        self,
        job: type | None = None,
        args: Iterable[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        queue: str | None = None,
        priority: int | None = None,
        at: datetime | None = None,
    ) -> Any:
        """A job matching every given field was performed (with ``with``: by the block)."""
        spec = (job, args, kwargs, queue, priority, at)
        if called_by_with():
            everything = make_filter()
            return _Block(
                lambda: self._start_performing(everything),
                lambda state: self._performed_with(state, spec),
                restore=self._stop_performing,
            )
        return self._find(self.performed_jobs, "performed", 0, *spec)

    def _performed_with(self, state: tuple[int, Any], spec: tuple[Any, ...]) -> EnqueuedJob:
        self.adapter.perform_immediately = state[1]
        return self._find(self.performed_jobs, "performed", state[0], *spec)

    def perform_enqueued_jobs(
        self,
        only: JobFilter = None,
        except_: JobFilter = None,
        queue: str | None = None,
        at: datetime | None = None,
    ) -> Any:
        """Perform matching enqueued jobs, and those they enqueue, until none is left.

        With ``at``, only jobs due by then. In the ``with`` form, jobs enqueued inside the block
        are performed as they are enqueued, and left-overs when the block ends. Returns the count.
        """
        matches = make_filter(only, except_, queue)
        if called_by_with():
            return _Block(
                lambda: self._start_performing(matches),
                lambda state: self._flush(state, matches, at),
                restore=self._stop_performing,
            )
        return self.adapter.perform_enqueued(matches, at)

    def _flush(
        self, state: tuple[int, Any], matches: Callable[..., bool], at: datetime | None
    ) -> int:
        self.adapter.perform_immediately = state[1]
        return self.adapter.perform_enqueued(matches, at)
