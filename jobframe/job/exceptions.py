"""``retry_on``, ``discard_on`` and ``rescue_from``: what a job does when ``perform`` raises.

Handlers are searched newest first (a subclass's before its parents', a later decorator before an
earlier one), as in Rails. Retries re-enqueue the same job (same ``job_id``) with a delay and count
in ``executions`` and ``exception_executions``; once the attempts run out the exception propagates,
so the backend records the job as failed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Literal, TypeVar

from jobframe.errors import InvalidOptionError, JobDefinitionError
from jobframe.job.configured import MAX_WAIT, wait_seconds
from jobframe.job.queue_name import validate_queue_name
from jobframe.job.queue_priority import validate_priority

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])
ExcTypes = tuple[type[BaseException], ...]
Wait = float | int | timedelta | Callable[[int], float | int | timedelta]
DEFAULT_JITTER = 0.15
_RESCUE_MARK = "__jobframe_rescue__"


class _PolynomiallyLonger:
    """Wait ``executions ** 4 + 2`` seconds (3 s, 18 s, 83 s, 258 s, ...), jitter on top."""

    def __call__(self, executions: int) -> float:
        return float(executions**4 + 2)

    def __repr__(self) -> str:
        return "jobframe.polynomially_longer"


polynomially_longer = _PolynomiallyLonger()


def _check_exceptions(exceptions: tuple[Any, ...], origin: str) -> ExcTypes:
    if not exceptions:
        raise JobDefinitionError(f"{origin}() needs at least one exception class.")
    for exc in exceptions:
        if not (isinstance(exc, type) and issubclass(exc, BaseException)):
            raise JobDefinitionError(f"{origin}() takes exception classes, got {exc!r}.")
    return exceptions


@dataclass(frozen=True)
class Handler:
    exceptions: ExcTypes
    action: Callable[[Any, BaseException], None]

    def matches(self, exc: BaseException) -> bool:
        return isinstance(exc, self.exceptions)


@dataclass(frozen=True)
class RetryPolicy:
    exceptions: ExcTypes
    wait: Wait
    attempts: int | Literal["unlimited"]
    jitter: float
    queue: str | None
    priority: int | None

    @property
    def key(self) -> str:
        return ",".join(f"{e.__module__}.{e.__qualname__}" for e in self.exceptions)

    def delay(self, executions: int) -> float:
        """Seconds to wait before the next attempt, jitter included.

        The built-in waits are capped at `MAX_WAIT` (100 years): ``polynomially_longer`` passes it
        after about 236 attempts of an ``attempts="unlimited"`` policy. A callable's result is
        checked instead, as a mistake in it should be seen.
        """
        cap = MAX_WAIT.total_seconds()
        if isinstance(self.wait, _PolynomiallyLonger):
            base = min(self.wait(executions) - 2, cap)
            return min(base + random.uniform(0, base * self.jitter) + 2, cap)
        if callable(self.wait):
            return wait_seconds(self.wait(executions), "the retry_on wait callable's result")
        base = wait_seconds(self.wait, "retry_on(wait=)")
        return min(base + random.uniform(0, base * self.jitter), cap)

    def __call__(self, job: Any, exc: BaseException) -> None:
        count = job.exception_executions.get(self.key, 0) + 1
        job.exception_executions[self.key] = count
        if self.attempts == "unlimited" or count < self.attempts:
            job.retry_job(wait=self.delay(job.executions), queue=self.queue,
                          priority=self.priority, error=exc)  # fmt: skip
            job._handled_as = "retrying"  # its record says so (jobframe.tracking.records)
            job._handled_error = exc
            return
        with job._instrument("retry_stopped", error=exc) as event:
            event.exception = exc
            pass
        job._run_after_discard(exc)
        raise exc


def _add_handler(cls: type, handler: Handler) -> None:
    cls._rescue_handlers = (handler, *cls.__dict__.get("_rescue_handlers", ()))  # type: ignore[attr-defined]


def retry_on(
    *exceptions: type[BaseException],
    wait: Wait = 3,
    attempts: int | Literal["unlimited"] = 5,
    jitter: float = DEFAULT_JITTER,
    queue: str | None = None,
    priority: int | None = None,
) -> Callable[[C], C]:
    """Class decorator: retry the job when ``perform`` raises one of ``exceptions``.

    Parameters:
        wait: seconds, a timedelta, ``jobframe.polynomially_longer`` or ``callable(executions)``.
        attempts: total attempts including the first, or ``"unlimited"``.
        jitter: up to this fraction of the delay is added at random (not for callables).
        queue, priority: where the retry goes, when it should differ from the job's own.
    """
    excs = _check_exceptions(exceptions, "retry_on")
    if attempts != "unlimited" and (
        not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1
    ):
        raise InvalidOptionError(
            f"retry_on(attempts=) must be an int >= 1 or 'unlimited', got {attempts!r}."
        )
    if not callable(wait):
        wait_seconds(wait, "retry_on(wait=)")
    if not isinstance(jitter, int | float) or isinstance(jitter, bool) or jitter < 0:
        raise InvalidOptionError(f"retry_on(jitter=) must be a number >= 0, got {jitter!r}.")
    if queue is not None:
        validate_queue_name(queue, "retry_on(queue=)")
    validate_priority(priority, "retry_on(priority=)")
    policy = RetryPolicy(excs, wait, attempts, float(jitter), queue, priority)

    def decorate(cls: C) -> C:
        _add_handler(cls, Handler(excs, policy))
        return cls

    return decorate


def discard_on(*exceptions: type[BaseException]) -> Callable[[C], C]:
    """Class decorator: drop the job, without failing, when ``perform`` raises one of these."""
    excs = _check_exceptions(exceptions, "discard_on")

    def discard(job: Any, exc: BaseException) -> None:
        with job._instrument("discard", error=exc) as event:
            event.exception = exc
            pass
        job._handled_as = "discarded"  # its record says so (jobframe.tracking.records)
        job._handled_error = exc
        job._run_after_discard(exc)

    def decorate(cls: C) -> C:
        _add_handler(cls, Handler(excs, discard))
        return cls

    return decorate


def rescue_from(*exceptions: type[BaseException]) -> Callable[[F], F]:
    """Method decorator: ``handler(self, exc)`` handles these exceptions (re-raise to fail)."""
    excs = _check_exceptions(exceptions, "rescue_from")

    def decorate(fn: F) -> F:
        setattr(fn, _RESCUE_MARK, excs)
        return fn

    return decorate


class Exceptions:
    """Finds the handler for an exception raised by ``perform``."""

    _rescue_handlers: ClassVar[tuple[Handler, ...]] = ()

    def _rescue_with_handler(self, exc: BaseException) -> bool:
        for handler in self._all_handlers():
            if handler.matches(exc):
                handler.action(self, exc)
                return True
        return False

    def _all_handlers(self) -> tuple[Handler, ...]:
        """Each class's own handlers, the class's before its parents' (plain mixins included).

        Within a class, later definitions win: its class decorators (applied after the body)
        come first, newest first, then its ``rescue_from`` methods, last defined first.
        """
        handlers: list[Handler] = []
        for klass in type(self).__mro__:
            own = vars(klass)
            handlers.extend(own.get("_rescue_handlers", ()))
            methods = [
                Handler(excs, _method_action(name))
                for name, value in own.items()
                if (excs := getattr(value, _RESCUE_MARK, None))
            ]
            handlers.extend(reversed(methods))
        return tuple(handlers)


def _method_action(name: str) -> Callable[[Any, BaseException], None]:
    def action(job: Any, exc: BaseException) -> None:
        getattr(job, name)(exc)

    return action
