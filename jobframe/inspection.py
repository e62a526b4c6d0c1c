"""What a backend shows about its jobs: the interface the CLI and the dashboard read through.

Each durable adapter returns an `Inspector` from ``adapter.inspector()``; the CLI commands
(``jobframe queues|jobs|retry|discard|pause|resume``) and the dashboard know nothing else about
the backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

State = Literal["ready", "scheduled", "running", "dead"]
STATES: tuple[State, ...] = ("ready", "scheduled", "running", "dead")


@dataclass(frozen=True)
class QueueInfo:
    name: str
    size: int
    latency: float  # seconds since the oldest ready job was enqueued (0 when empty)
    paused: bool


@dataclass(frozen=True)
class JobInfo:
    id: str
    state: State
    queue: str
    job_class: str | None
    job_id: str | None
    arguments: Any = None  # the serialized arguments (JSON), shown as text
    priority: int | None = None
    enqueued_at: datetime | None = None
    scheduled_at: datetime | None = None
    executions: int = 0
    error: dict[str, Any] | None = None  # class, message, traceback, reason
    raw: bytes | None = None  # the payload as stored (kept for undecodable ones)
    worker: str | None = None
    #: when a dead job failed (its last run); ``enqueued_at`` is when that run was enqueued
    failed_at: datetime | None = None


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    hostname: str
    pid: int
    queues: list[str]
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    running: list[str] = field(default_factory=list)  # ids of the jobs it holds


class Inspector(Protocol):
    """Reading and managing a backend's jobs. ``ids=None`` with ``all=True`` acts on every match."""

    def queues(self) -> list[QueueInfo]: ...

    #: whether ``jobs``/``count`` take ``search`` (text found in a job's stored arguments) and
    #: ``job_class`` (a substring of the class name); the dashboard filters itself otherwise
    supports_search: bool

    def jobs(
        self,
        state: State,
        queue: str | None = None,
        offset: int = 0,
        limit: int = 50,
        search: str | None = None,
        job_class: str | None = None,
    ) -> list[JobInfo]: ...

    def count(
        self,
        state: State,
        queue: str | None = None,
        search: str | None = None,
        job_class: str | None = None,
    ) -> int: ...

    def pending(self) -> int:
        """Jobs not finished yet (ready, scheduled or running), counted in one consistent read.

        Summing ``count()`` per state is not the same: a job that moves from running to
        scheduled (a retry) between two counts is missed, and "0 left" would be wrong.
        """
        ...

    def job(self, id: str) -> JobInfo | None: ...

    def retry(self, ids: list[str] | None = None, all: bool = False) -> int: ...

    def discard(
        self, ids: list[str] | None = None, all: bool = False, state: State = "dead"
    ) -> int: ...

    def run_now(self, ids: list[str] | None = None, all: bool = False) -> int: ...

    def pause(self, queue: str) -> None: ...

    def resume(self, queue: str) -> None: ...

    def clear(self, queue: str) -> int: ...

    def workers(self) -> list[WorkerInfo]: ...

    def stats(self, day: str | None = None) -> dict[str, int]: ...
