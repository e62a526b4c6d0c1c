"""``--job-timeout`` for sync jobs: raise `JobTimeout` inside a job's thread when it overruns.

Python cannot kill a thread; it can ask the interpreter to raise an exception in it at the next
bytecode boundary (``PyThreadState_SetAsyncExc``). Pure-Python code stops there; code blocked in a
C call (a socket read without a timeout) stops when the call returns.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Hashable

from jobframe.errors import JobTimeout


class Watchdog:
    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._running: dict[Hashable, tuple[int, float]] = {}

    def start(self, token: Hashable) -> None:
        with self._lock:
            self._running[token] = (threading.get_ident(), time.monotonic())

    def finish(self, token: Hashable) -> None:
        with self._lock:
            self._running.pop(token, None)

    def check(self) -> int:
        """Interrupt every job past its deadline; return how many were interrupted."""
        if self.timeout is None:
            return 0
        limit = time.monotonic() - self.timeout
        with self._lock:
            late = [(tok, ident) for tok, (ident, began) in self._running.items() if began < limit]
            for token, ident in late:
                del self._running[token]
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(ident), ctypes.py_object(JobTimeout)
                )
        return len(late)
