"""Running a job: ``perform_now`` (here, with callbacks and exception handling) and ``execute``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar, overload

from jobframe.errors import Abort, Cancelled, DeserializationError, JobframeError, JobTimeout
from jobframe.job.callbacks import CallbackChain
from jobframe.job.continuation import perform_timeout
from jobframe.job.core import hybridmethod
from jobframe.notifications import wanted

R = TypeVar("R", covariant=True)

#: ``(deadline, limit)``: the event-loop time by which the ``async def perform`` of the job
#: running in this task must end, and its limit in seconds; set by the worker's time limits
#: (`jobframe.worker.time_limits`). Past it, the job is cancelled and gets `JobTimeout` inside
#: its error handling (``retry_on``, ``discard_on``).
perform_deadline: ContextVar[tuple[float, float] | None] = ContextVar(
    "jobframe_perform_deadline", default=None
)


class _Performs(Protocol[R]):
    def perform(self, *args: Any, **kwargs: Any) -> R: ...


class _PerformsAsync(Protocol[R]):
    def perform(self, *args: Any, **kwargs: Any) -> Awaitable[R]: ...


#: `is_async` of each ``perform`` seen: `inspect.iscoroutinefunction` costs about 1 µs, and a
#: worker asked it twice per job (keyed by the function: a class whose ``perform`` is replaced
#: is asked again; job classes live as long as the registry, and so do their functions)
_async: dict[Any, bool] = {}


def is_async(perform: Any) -> bool:
    """`inspect.iscoroutinefunction` of ``perform`` (a function or a bound method), remembered."""
    key = getattr(perform, "__func__", perform)
    try:
        known = _async.get(key)
    except TypeError:  # an unhashable callable: asked every time
        return inspect.iscoroutinefunction(perform)
    if known is None:
        known = _async[key] = inspect.iscoroutinefunction(perform)
    return known


def _build_and_perform(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``perform`` in this process now, with callbacks, ``retry_on`` and ``discard_on``.

    Returns what ``perform`` returned (awaited, for ``async def perform``), or None when a
    callback halted the job or ``discard_on`` / ``rescue_from`` / ``retry_on`` took the error.
    """
    return cls(*args, **kwargs).perform_now()


def _perform_now(self: Any) -> Any:
    if is_async(self.perform):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.perform_now_async())
        raise JobframeError(
            f"{type(self).__qualname__}.perform is async and an event loop is running in this "
            "thread: use `await job.perform_now_async()` instead of perform_now()."
        )
    self._check_concrete()
    self.executions += 1
    try:
        scope = self._context_scope()
    except DeserializationError as exc:  # a plugin could not restore the job's context
        return self._handle_failure(exc)
    if scope is None:
        return _perform_in_scope(self)
    with scope:  # around callbacks and error handlers too (`jobframe.job.context`)
        return _perform_in_scope(self)


def _perform_in_scope(self: Any) -> Any:
    """`_perform_now` within the job's context: callbacks (a `CallbackChain` only for a class
    that has some: four calls per job saved), ``perform`` and the error handlers."""
    chains = type(self)._callbacks
    try:
        self._start_execution()
        with self._instrument("perform"):
            if (
                chains.get("before_perform")
                or chains.get("around_perform")
                or chains.get("after_perform")
            ):
                with CallbackChain(self, "perform"):
                    self._returned = self.perform(*self.args, **self.kwargs)
                    return self._returned
                return None  # an around callback swallowed the error
            self._returned = self.perform(*self.args, **self.kwargs)
            return self._returned
    except Abort:
        return None
    except Exception as exc:
        return self._handle_failure(exc)


async def _within_deadline(job: Any, awaitable: Awaitable[Any]) -> Any:
    limit = perform_deadline.get()
    if limit is None:
        return await awaitable
    timeout = asyncio.timeout_at(limit[0])
    token = perform_timeout.set(timeout)  # a continuation's first step postpones it
    try:
        async with timeout:
            return await awaitable
    except TimeoutError:
        if not timeout.expired():
            raise  # the job's own TimeoutError, not its time limit
        raise JobTimeout(f"{type(job).__qualname__} ran longer than {limit[1]:g}s") from None
    finally:
        perform_timeout.reset(token)


class _PerformNow(hybridmethod[Any]):
    """`hybridmethod` typed for ``perform_now``: the result is what the job's ``perform``
    returns (awaited, for an ``async def perform``), or None."""

    @overload
    def __get__(self, obj: None, owner: type[_PerformsAsync[R]]) -> Callable[..., R | None]: ...
    @overload
    def __get__(self, obj: None, owner: type[_Performs[R]]) -> Callable[..., R | None]: ...
    @overload
    def __get__(self, obj: _PerformsAsync[R], owner: type) -> Callable[[], R | None]: ...
    @overload
    def __get__(self, obj: _Performs[R], owner: type) -> Callable[[], R | None]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> Callable[..., Any]: ...
    def __get__(self, obj: object, owner: type) -> Callable[..., Any]:
        return super().__get__(obj, owner)


class Execution:
    """``Job.perform_now(x)`` builds and runs a job; ``job.perform_now()`` runs an existing one."""

    perform_now = _PerformNow(_build_and_perform).instance(_perform_now)

    async def perform_now_async(self: Any) -> Any:
        """`perform_now` for code already inside an event loop (``async def perform`` or not)."""
        self._check_concrete()
        self.executions += 1
        try:
            scope = self._context_scope()
        except DeserializationError as exc:
            return self._handle_failure(exc)
        with nullcontext() if scope is None else scope:
            try:
                self._start_execution()
                with self._instrument("perform"), CallbackChain(self, "perform"):
                    result = self.perform(*self.args, **self.kwargs)
                    if inspect.isawaitable(result):
                        result = await _within_deadline(self, result)
                    self._returned = result
                    return result
            except Abort:
                return None
            except Exception as exc:
                return self._handle_failure(exc)

    def _start_execution(self: Any) -> None:
        """Decode the arguments (a failure here reaches ``discard_on``) and announce the start."""
        self._forget_last_run()
        self._load_arguments()
        if wanted("perform_start"):  # else not built at all: nobody listens (1.9 µs a job)
            with self._instrument("perform_start"):
                pass

    def _handle_failure(self: Any, exc: Exception) -> None:
        # A cancel is an operator's decision, not an error: no handler may retry or rescue it.
        if not isinstance(exc, Cancelled) and self._rescue_with_handler(exc):
            return None
        self._run_after_discard(exc)
        raise exc

    @classmethod
    def execute(cls, payload: dict[str, Any]) -> Any:
        """Deserialize a payload and perform it (what workers and adapters call). Returns the job.

        Raises:
            UnknownJobError, DeserializationError: the payload cannot become a job.
            Exception: whatever ``perform`` raised once retries ran out.
        """
        from jobframe.tracking.batches import performing

        job = cls.deserialize(payload)  # type: ignore[attr-defined]
        with performing(job):  # the jobs it enqueues join its batch
            job.perform_now()
        return job
