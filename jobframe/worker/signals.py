"""A worker's SIGTERM and SIGINT: the first stops it gracefully (running jobs finish), a second
releases the running jobs at once.

Under ``--processes`` a signal sent to the process group reaches a child twice, once from the
terminal or the init system and once forwarded by its supervisor (`jobframe.worker.supervisor`):
a supervised child takes a repeat within `DUPLICATE_WINDOW` seconds as the same signal.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from types import FrameType
from typing import Protocol

log = logging.getLogger("jobframe.worker")

#: seconds within which a supervised worker takes a repeated signal as the same one
DUPLICATE_WINDOW = 1.0


class Stoppable(Protocol):
    def stop(self, release_now: bool = False, wake_in_thread: bool = False) -> None: ...


def install(worker: Stoppable, worker_id: str, stopping: threading.Event) -> None:
    """Handle SIGTERM and SIGINT in this (main) thread by stopping ``worker``; ``stopping`` is
    set once it was asked to stop."""
    window = DUPLICATE_WINDOW if os.environ.get("JOBFRAME_SUPERVISED") else 0.0
    first_at: list[float] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        second = stopping.is_set()
        if second and first_at and time.monotonic() - first_at[0] < window:
            return  # the same signal, forwarded by the supervisor
        first_at.append(time.monotonic())
        log.info(
            "worker %s got %s%s",
            worker_id,
            signal.Signals(signum).name,
            ": releasing running jobs now" if second else ": finishing running jobs",
        )
        # a backend's wake may take a lock the interrupted code holds: from a thread of its own
        worker.stop(release_now=second, wake_in_thread=True)

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


__all__ = ["DUPLICATE_WINDOW", "install"]
