"""Producer-side coalescing: concurrent enqueues share one pipelined round trip.

A threaded web server enqueues from many threads at once. One round trip each makes every thread
pay a socket write, a blocking read and the GIL hand-offs around both, and makes Redis parse and
answer one command per read event. Here the first caller to find no flush in flight sends its
own command at once (a lone caller waits for nothing: no timer, no extra hop); callers arriving
while that round trip is out queue up, and when it returns the next of them sends everything
queued as one pipeline, while the others wait on their own gate. Each command keeps its own
reply: an error reply fails only its own caller, a lost connection only the callers of the
batch it carried.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from jobframe.backend.forks import generation

#: Sends commands as one round trip; one reply per command, an error reply as an exception
#: instance in its place; raises when the round trip itself failed.
Send = Callable[[list[bytes]], list[Any]]


class _Waiter:
    """One queued caller: its command, then its reply (or the batch it must send)."""

    __slots__ = ("batch", "command", "gate", "reply")

    def __init__(self, command: bytes) -> None:
        self.command = command
        self.reply: Any = None
        self.batch: list[_Waiter] | None = None
        self.gate = threading.Lock()
        self.gate.acquire()  # released by the caller that hands this one its reply or its turn


class Coalescer:
    """Sends commands through ``send``, combining those of concurrent callers (see the module)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._fresh()

    def _fresh(self) -> None:
        self._generation = generation()
        self._mutex = threading.Lock()
        self._queued: list[_Waiter] | None = None  # None: no round trip in flight

    @property
    def queued(self) -> int:
        """How many callers wait for the round trip in flight to come back."""
        queued = self._queued
        return 0 if queued is None else len(queued)

    def call(self, command: bytes) -> Any:
        """The reply to ``command``; raises its error reply, or the failure of its round trip."""
        if self._generation != generation():
            # A child forked while a round trip was out (or the mutex held) would wait for a
            # thread it does not have: it starts afresh, as `WirePool` does with its sockets.
            self._fresh()
        with self._mutex:
            queued = self._queued
            if queued is None:
                self._queued = []
            else:
                mine = _Waiter(command)
                queued.append(mine)
        if queued is None:  # nothing in flight: send at once, alone
            try:
                reply = self._send([command])[0]
            finally:
                self._hand_on()
            if isinstance(reply, BaseException):
                raise reply
            return reply
        mine.gate.acquire()
        batch = mine.batch
        if batch is not None:  # our turn: send everything queued behind the last round trip
            self._flush(batch)
        reply = mine.reply
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _flush(self, batch: list[_Waiter]) -> None:
        try:
            replies: list[Any] = self._send([w.command for w in batch])
        except BaseException as exc:
            # One failure for every caller of this batch; each raises its own copy, with its own
            # traceback.
            replies = [copy.copy(exc) for _ in batch]
            for reply in replies:
                reply.__cause__ = exc.__cause__
        finally:
            self._hand_on()
        me = batch[0]
        me.reply = replies[0]
        for waiter, reply in zip(batch[1:], replies[1:], strict=True):
            waiter.reply = reply
            waiter.gate.release()

    def _hand_on(self) -> None:
        """The round trip is back: the first caller queued meanwhile sends the rest."""
        with self._mutex:
            queued = self._queued
            if not queued:
                self._queued = None
                return
            self._queued = []
        leader = queued[0]
        leader.batch = queued
        leader.gate.release()
