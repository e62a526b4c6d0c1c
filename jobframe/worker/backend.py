"""What a durable backend gives the worker runtime: claims, outcomes, heartbeats, maintenance.

The Redis and SQL adapters each implement `WorkerBackend`; the runtime in `jobframe.worker` knows
neither Redis nor SQL. Every state change of a claimed job goes through one guarded step keyed by
its `Claim` (``token``), so a job whose claim was taken back by the reaper is never also finished.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Status = Literal["done", "failed", "dead"]


@dataclass(frozen=True)
class Claim:
    """One fetched job: the backend's id for it, the claim token, its queue and raw payload."""

    id: str
    token: str
    queue: str
    payload: bytes


@dataclass(frozen=True)
class Outcome:
    """How a claimed job ended. ``error`` holds class, message, traceback (failed/dead)."""

    claim: Claim
    status: Status
    error: dict[str, Any] | None = None
    attempts: int = 0
    retries: tuple[Any, ...] = ()  # backend entries of retries to write with this outcome


@dataclass
class ProcessInfo:
    """A worker process as the backend records it (the dashboard's Workers page shows this)."""

    id: str
    queues: list[str]
    concurrency: int
    hostname: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: float = field(default_factory=time.time)


class WorkerBackend(Protocol):
    """The storage side of a worker. All methods may be called from several threads."""

    def register(self, process: ProcessInfo) -> None:
        """Record a live process (and its first heartbeat)."""

    def heartbeat(self, process_id: str) -> None:
        """Prove the process is alive; raises if the backend is unreachable."""

    def deregister(self, process_id: str) -> None:
        """Forget a process that stopped cleanly (after its claims were completed or released)."""

    def fetch(self, process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        """Claim up to ``limit`` ready jobs, waiting up to ``timeout`` s for one to arrive.

        ``queues`` is in priority order; ``["*"]`` means every queue. Paused queues are skipped.
        """

    def complete(self, process_id: str, outcomes: list[Outcome]) -> None:
        """Apply outcomes in one step per batch; a claim no longer held is ignored."""

    def release(self, process_id: str, claims: list[Claim]) -> None:
        """Put claimed jobs back at the front of their queues (shutdown; not a failure)."""

    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        """Promote due scheduled jobs and reap processes whose heartbeat expired.

        Returns counts, e.g. ``{"promoted": 3, "reaped": 1, "dead": 0}``.
        """

    def retry_entry(self, job: Any, adapter: Any) -> Any | None:
        """A retry of ``job`` ready to be written by `complete`, or None if ``adapter`` is not
        this backend's (the retry then goes through the adapter as usual)."""

    def wake(self) -> None:
        """Interrupt fetches blocked in this process (used at shutdown)."""
