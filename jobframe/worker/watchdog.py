"""Deadlines of running jobs, and `JobTimeout` raised inside a thread job that overruns its own.

Python cannot kill a thread; it can ask the interpreter to raise an exception in it at the next
bytecode boundary (``PyThreadState_SetAsyncExc``). Pure-Python code stops there; code blocked in a
C call (``time.sleep(60)``, a socket read without a timeout) only when the call returns. A thread
still running ``grace`` seconds after it was interrupted is reported *stuck*.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from dataclasses import dataclass

from jobframe.errors import JobTimeout

#: a running claim: its job id and claim token
Key = tuple[str, str]


@dataclass
class _Running:
    thread: int | None  # None: an async job (its event loop cancels it; nothing to interrupt)
    deadline: float
    interrupted_at: float | None = None
    #: asked once at the deadline: True postpones the job's end by ``grace`` (it stops itself)
    soft: Callable[[], bool] | None = None


class Watchdog:
    """Running jobs with a deadline (`time.monotonic` seconds), checked by `check`."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._lock = threading.Lock()
        self._running: dict[Key, _Running] = {}

    def start(
        self, key: Key, deadline: float, thread: int | None, soft: Callable[[], bool] | None = None
    ) -> None:
        """Watch ``key`` until `finish`; ``thread`` (an ident) gets `JobTimeout` at ``deadline``,
        or ``grace`` seconds later if ``soft()`` says then that the job stops by itself (a
        continuation, at its next checkpoint)."""
        with self._lock:
            self._running[key] = _Running(thread, deadline, soft=soft)

    def finish(self, key: Key) -> None:
        with self._lock:
            self._running.pop(key, None)

    def check(self, now: float) -> tuple[list[Key], list[Key]]:
        """Interrupt every thread past its deadline.

        Returns:
            The keys past their deadline since the last check, and those whose thread was
            interrupted more than ``grace`` seconds ago and still runs (stuck: each once).
        """
        overdue: list[Key] = []
        stuck: list[Key] = []
        with self._lock:
            for key, entry in list(self._running.items()):
                if entry.interrupted_at is not None:
                    if now - entry.interrupted_at > self.grace:
                        stuck.append(key)
                        del self._running[key]
                    continue
                if now < entry.deadline:
                    continue
                soft, entry.soft = entry.soft, None
                if soft is not None and soft():
                    entry.deadline = now + self.grace
                    continue
                overdue.append(key)
                if entry.thread is None:
                    del self._running[key]
                    continue
                entry.interrupted_at = now
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(entry.thread), ctypes.py_object(JobTimeout)
                )
        return overdue, stuck
