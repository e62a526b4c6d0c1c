"""Continuations (Active Job 8.1's ``Continuable``): a long job split into steps that a worker
can stop at a checkpoint and resume later, skipping the steps already finished::

    class ImportJob(jobframe.Job):
        def perform(self, import_id):
            self.step("download", self.download)            # skipped on resume once finished
            self.step("rows", self.import_rows, cursor=0)

        def import_rows(self, step):
            for row in rows_after(step.cursor):
                handle(row)
                step.advance(to=row.id)                     # a checkpoint

A step is a method, not a ``with`` block, because a finished step must be skipped and a block
cannot be. A checkpoint (`Step.advance`, `Step.checkpoint`, and the start of every step but the
first of a run) raises `jobframe.Cancelled` when `jobframe.cancel` asked the job to stop, and
the internal `jobframe.errors.Interrupted` when its worker shuts down gracefully or the job
reached its time limit: the worker then re-enqueues it at once, with its finished steps and
cursor (`jobframe.worker.continuing`). Finished steps, the step under way and its cursor travel
in the payload under ``continuation``, so a retry (``retry_on``) resumes from the last
checkpoint too, not from zero.

Decisions (docs/continuations.md has them all): a cancelled continuation is settled
``cancelled``, not re-enqueued (its record keeps its steps and cursor); the start of the first
step a run reaches is no checkpoint for a stop (the job would come back with nothing done);
``async def`` steps run with ``await self.astep(...)``, and `step` refuses a coroutine function
(a forgotten ``await`` would skip the step silently).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobframe import arguments
from jobframe.errors import (
    ContinuationError,
    DeserializationError,
    Interrupted,
    SerializationError,
)

if TYPE_CHECKING:
    from jobframe.tracking.progress import Progress

#: The ``asyncio.Timeout`` of the ``async def perform`` running in this task, if it has a time
#: limit (set by `jobframe.job.execution`): the first step of a run moves it ``grace`` seconds
#: later, so the job stops at a checkpoint before it is cancelled.
perform_timeout: ContextVar[asyncio.Timeout | None] = ContextVar(
    "jobframe_perform_timeout", default=None
)


@dataclass
class Interruption:
    """What the worker running a job tells its checkpoints (set by
    `jobframe.worker.continuing`): stop when ``stopping`` is set, or once ``time.monotonic()``
    passes ``deadline`` (the job's time limit); the hard `jobframe.JobTimeout` comes ``grace``
    seconds after that deadline for a job that entered a step."""

    stopping: threading.Event | None = None
    deadline: float | None = None
    grace: float = 0.0

    def reason(self) -> str | None:
        """Why the job must stop now (``"stopping"``, ``"time limit"``), or None."""
        if self.stopping is not None and self.stopping.is_set():
            return "stopping"
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return "time limit"
        return None


def _encode_cursor(value: Any, name: str) -> Any:
    try:
        return arguments.serialize_value(value, "cursor")
    except SerializationError as exc:
        raise SerializationError(
            f"step {name!r}: its cursor must be serializable as a job argument ({exc}) Use a "
            "plain value (an int, a str, a tuple of ids) or register an ObjectSerializer."
        ) from None


class Continuation:
    """A continuation's progress: its finished steps, the step under way and that step's cursor
    (kept in its wire form, decoded when the step resumes), plus what this run has seen."""

    def __init__(
        self, completed: list[str] | None = None, current: str | None = None, cursor: Any = None
    ) -> None:
        self.completed: list[str] = list(completed or ())
        self.current = current
        self.wire_cursor = cursor
        #: the ``executions`` of the run the fields below belong to
        self.run = -1
        self.encountered: list[str] = []
        self.running: Step | None = None
        #: this run finished a step or moved a cursor: it may be interrupted at a step's start
        self.advanced = False
        #: this run ran a step (not only skipped some): its async time limit was postponed
        self.stepped = False

    def begin_run(self, executions: int) -> None:
        self.run, self.encountered, self.running = executions, [], None
        self.advanced = self.stepped = False

    def to_json(self) -> dict[str, Any] | None:
        """The payload's ``continuation`` (and a record's ``steps``); None before any step."""
        if not self.completed and self.current is None:
            return None
        return {"completed": list(self.completed), "current": self.current,
                "cursor": self.wire_cursor}  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> Continuation:
        """Read a payload's ``continuation``.

        Raises:
            TypeError: it is not ``{completed: [str], current: str | null, cursor: ...}``.
        """
        if not isinstance(data, dict):
            raise TypeError(f"'continuation' must be an object, got {data!r}")
        completed, current = data.get("completed", []), data.get("current")
        if not isinstance(completed, list) or not all(isinstance(n, str) for n in completed):
            raise TypeError(f"'continuation.completed' must list step names, got {completed!r}")
        if current is not None and not isinstance(current, str):
            raise TypeError(f"'continuation.current' must be a step name, got {current!r}")
        return cls(completed, current, data.get("cursor") if current is not None else None)

    def describe(self) -> str:
        """Where the continuation is, for logs: ``at step 'rows', cursor 41``."""
        if self.current is not None:
            return f"at step {self.current!r}, cursor {self.wire_cursor!r}"
        if self.completed:
            return f"after step {self.completed[-1]!r}"
        return "before its first step"


class Step:
    """One step of a continuation, given to its method: ``name``, ``cursor`` (where to resume;
    the ``cursor=`` of `Continuable.step` on a first run), ``resumed`` (this run took it over
    from an interrupted or failed one)."""

    def __init__(
        self, job: Continuable, state: Continuation, name: str, cursor: Any, resumed: bool
    ) -> None:
        self._job = job
        self._state = state
        self.name = name
        self.cursor = cursor
        self.resumed = resumed

    def advance(self, to: Any = None) -> None:
        """A checkpoint that moves the cursor: to ``to``, or, without it, to ``cursor + 1``.
        The cursor is what a resumed run starts from; a worker that must stop stops here.

        Raises:
            ContinuationError: no ``to`` and the cursor is not an int.
            SerializationError: ``to`` cannot be serialized as a job argument can.
            Cancelled: `jobframe.cancel` asked the job to stop.
        """
        if to is None:
            if not isinstance(self.cursor, int) or isinstance(self.cursor, bool):
                raise ContinuationError(
                    f"step {self.name!r}: advance() without `to` adds 1 to an int cursor, but "
                    f"the cursor is {self.cursor!r}; start the step with cursor=0 or call "
                    "advance(to=...)."
                )
            to = self.cursor + 1
        self._state.wire_cursor = _encode_cursor(to, self.name)
        self.cursor = to
        self._state.advanced = True
        self._job._publish_steps()
        self._job._checkpoint()

    def checkpoint(self) -> None:
        """A checkpoint that keeps the cursor (a step with nothing to count: deleting in
        batches until none is left). See `advance` for what it raises."""
        self._job._checkpoint()

    def __repr__(self) -> str:
        return f"<Step {self.name!r} cursor={self.cursor!r}>"


class Continuable:
    """``self.step(name, method, cursor=None)`` and ``await self.astep(...)`` in ``perform``."""

    #: the progress read from the payload (None: the job has not started a step yet)
    _continuation: Continuation | None = None
    #: set by the worker that runs this job (`jobframe.worker.continuing`); None elsewhere
    _interruption: Interruption | None = None
    #: set by the worker when this run stopped at a checkpoint and the job was re-enqueued
    _resumes_later: bool = False
    #: where ``self.progress`` writes while a worker runs the job (`jobframe.job.results`)
    _progress: Progress | None
    executions: int

    def step(self, name: str, method: Callable[[Step], Any], cursor: Any = None) -> None:
        """Run ``method(step)`` as the step ``name``, unless an earlier run finished it (then
        it is skipped). Steps must run in the same order on every run, each name once.

        Parameters:
            cursor: where the step starts on its first run; a resumed run gets the cursor of
                its last checkpoint instead. Any value a job argument may be.

        Raises:
            ContinuationError: a repeated or misplaced step, or a coroutine function (use
                `astep`).
            SerializationError: ``cursor`` cannot be serialized.
        """
        if inspect.iscoroutinefunction(method):
            raise ContinuationError(
                f"step {name!r}: {method.__qualname__} is async; run it with "
                f"`await self.astep({name!r}, ...)`."
            )
        started = self._enter(name, cursor)
        if started is None:
            return
        try:
            method(started)
        except BaseException:
            self._leave(started, finished=False)
            raise
        self._leave(started, finished=True)

    async def astep(
        self, name: str, method: Callable[[Step], Awaitable[Any] | Any], cursor: Any = None
    ) -> None:
        """`step` for ``async def perform``: ``await self.astep("rows", self.rows, cursor=0)``.
        ``method`` may be ``async def`` (it is awaited) or a plain function."""
        started = self._enter(name, cursor)
        if started is None:
            return
        try:
            result = method(started)
            if inspect.isawaitable(result):
                await result
        except BaseException:
            self._leave(started, finished=False)
            raise
        self._leave(started, finished=True)

    @property
    def continuation(self) -> dict[str, Any] | None:
        """Finished steps, the step under way and its cursor (JSON, as stored):
        ``{"completed": [...], "current": name | None, "cursor": ...}``; None before any step.
        (A record's and the progress's ``steps``.)"""
        return None if self._continuation is None else self._continuation.to_json()

    @property
    def stops_at_checkpoints(self) -> bool:
        """True once this run entered a step: its worker then stops it at a checkpoint at its
        time limit, and raises `jobframe.JobTimeout` only a grace period later."""
        state = self._continuation
        return state is not None and state.run == self.executions and bool(state.encountered)

    # -- the payload, the record and the progress -----------------------------------------------

    def _payload_extras(self, data: dict[str, Any]) -> None:
        """The payload's ``continuation``, once a step started (other payloads stay as they
        were)."""
        super()._payload_extras(data)  # type: ignore[misc]
        state = self.continuation
        if state is not None:
            data["continuation"] = state

    def _load_extras(self, data: dict[str, Any]) -> None:
        super()._load_extras(data)  # type: ignore[misc]
        state = data.get("continuation")
        self._continuation = None if state is None else Continuation.from_json(state)

    def _record_fields(self) -> dict[str, Any]:
        """A record's ``steps`` (finished steps, the step under way, its cursor)."""
        fields: dict[str, Any] = super()._record_fields()  # type: ignore[misc]
        state = self.continuation
        if state is not None:
            fields["steps"] = state
        return fields

    def _skips_record(self) -> bool:
        """A run stopped at a checkpoint and re-enqueued writes no record: the job's live state
        (ready, then running) says where it is."""
        return self._resumes_later or bool(super()._skips_record())  # type: ignore[misc]

    def _publish_steps(self) -> None:
        """Show the steps in the running job's progress (`jobframe.job.results`), if tracked."""
        progress = self._progress
        if progress is not None:
            progress.steps(self.continuation)

    # -- internals -------------------------------------------------------------------------------

    def _enter(self, name: str, cursor: Any) -> Step | None:
        """Check ``name`` against this run and the one resumed; the step to run, or None when
        an earlier run finished it. A checkpoint once this run made progress."""
        state = self._continuation
        if state is None:
            state = self._continuation = Continuation()
        if state.run != self.executions:
            state.begin_run(self.executions)
        _check_step(state, name)
        state.encountered.append(name)
        if name in state.completed:
            return None
        if not state.stepped:
            state.stepped = True
            self._postpone_async_timeout()
        self._checkpoint(interrupt=state.advanced)
        if state.current == name:
            try:
                value = arguments.deserialize_value(state.wire_cursor, f"step {name!r}'s cursor")
            except DeserializationError as exc:
                raise DeserializationError(f"cannot resume step {name!r}: {exc}") from exc
            started = Step(self, state, name, value, resumed=True)
        else:
            wire = _encode_cursor(cursor, name)
            state.current, state.wire_cursor = name, wire
            started = Step(self, state, name, cursor, resumed=False)
        state.running = started
        self._publish_steps()
        return started

    def _leave(self, step: Step, finished: bool) -> None:
        state = self._continuation
        assert state is not None
        state.running = None
        if not finished:
            return  # interrupted or failed: the step stays current, with its last cursor
        state.completed.append(step.name)
        state.current, state.wire_cursor = None, None
        state.advanced = True
        self._publish_steps()

    def _checkpoint(self, interrupt: bool = True) -> None:
        """Raise `jobframe.Cancelled`, or (``interrupt``) `Interrupted`, if this job must stop."""
        job: Any = self
        job.check_cancelled()
        interruption = self._interruption
        reason = interruption.reason() if interrupt and interruption is not None else None
        if reason is not None:
            state = self._continuation
            where = state.describe() if state is not None else "before its first step"
            raise Interrupted(
                f"{type(job).__qualname__} (Job ID: {job.job_id}) interrupted {where} "
                f"({'the worker is shutting down' if reason == 'stopping' else reason})",
                reason,
            )

    def _postpone_async_timeout(self) -> None:
        """An ``async def perform`` with a time limit is cancelled at its deadline; once it
        enters a step it gets ``grace`` seconds more, to stop at a checkpoint first."""
        timeout, interruption = perform_timeout.get(), self._interruption
        if timeout is None or interruption is None or timeout.expired():
            return
        when = timeout.when()
        if when is not None:
            timeout.reschedule(when + interruption.grace)


def _check_step(state: Continuation, name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ContinuationError(f"a step's name must be a non-empty str, got {name!r}.")
    if state.running is not None:
        raise ContinuationError(
            f"step {name!r} started inside step {state.running.name!r}: steps cannot nest; "
            "call them one after the other from perform."
        )
    if name in state.encountered:
        raise ContinuationError(
            f"step {name!r} ran twice in one perform: give each step its own name (a resumed "
            "run finds its steps by name)."
        )
    seen = len(state.encountered)
    if seen < len(state.completed) and state.completed[seen] != name:
        raise ContinuationError(
            f"step {name!r} came where the run being resumed had finished step "
            f"{state.completed[seen]!r}: steps must run in the same order on every run (a job "
            "enqueued before its steps were renamed or reordered cannot resume; discard it)."
        )
    if seen >= len(state.completed) and state.current not in (None, name):
        raise ContinuationError(
            f"step {name!r} came where the run being resumed was in step {state.current!r}: "
            "steps must run in the same order on every run (a job enqueued before its steps "
            "were renamed or reordered cannot resume; discard it)."
        )


__all__ = ["Continuable", "Continuation", "Interruption", "Step", "perform_timeout"]
