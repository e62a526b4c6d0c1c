"""Waking `SQLResults.wait` callers when a job's final record is written.

`Waiters` keeps one `threading.Event` per waiting call, by job id. Two things set them:

- writes made in this process (the worker backend's `complete`, the reaper, `cancel`,
  `SQLResults.write`), right after their commit (`Waiters.wake`);
- on PostgreSQL, a `ResultListener` thread: one connection per `SQLResults` that ``LISTEN`` s on
  `jobframe_sql.records.CHANNEL`, made the first time something waits, whatever the number of
  waiters;
- on SQLite and MariaDB, which have no such notification, a `SocketListener` thread: a
  `jobframe_sql.local_wake` socket that the processes on this machine writing final records
  poke after their commit (`poke_waiters`). Processes on other machines reach no socket: their
  waiters poll (see `SQLResults.wait`).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from jobframe_sql.local_wake import LocalWaiter, poke
from jobframe_sql.records import CHANNEL

log = logging.getLogger("jobframe.results")


class Waiters:
    """The events of the `SQLResults.wait` calls of this process, by job id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, list[threading.Event]] = {}

    @contextmanager
    def waiting(self, job_id: str) -> Iterator[threading.Event]:
        """An event set when a final record of ``job_id`` may have been written; registered
        before the caller first reads the record, so no write falls between the two."""
        event = threading.Event()
        with self._lock:
            self._events.setdefault(job_id, []).append(event)
        try:
            yield event
        finally:
            with self._lock:
                events = self._events.get(job_id, [])
                if event in events:
                    events.remove(event)
                if not events:
                    self._events.pop(job_id, None)

    def wake(self, job_ids: Iterable[str]) -> None:
        """Set the events of the waiters of ``job_ids``."""
        with self._lock:
            if not self._events:
                return
            found = [e for job_id in job_ids for e in self._events.get(job_id, ())]
        for event in found:
            event.set()

    def wake_all(self) -> None:
        """Set every waiter's event (a poke names no job: each reads its record again)."""
        with self._lock:
            found = [e for events in self._events.values() for e in events]
        for event in found:
            event.set()


def poke_socket(waiter: LocalWaiter) -> None:
    """Send one byte to ``waiter``'s own socket."""
    # closed already, or its buffer full: it wakes anyway
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender, contextlib.suppress(OSError):
        sender.sendto(b"1", str(waiter.path))


def results_key(wake_key: str) -> str:
    """The `local_wake` key of the result waiters of the database ``wake_key`` names (apart
    from its idle workers')."""
    return f"{wake_key}#results"


def poke_waiters(wake_key: str) -> None:
    """Wake the result waiters on this machine after final records were committed."""
    poke(results_key(wake_key))


class SocketListener:
    """A daemon thread waiting on this process's result socket; a poke wakes every waiter."""

    def __init__(self, wake_key: str, waiters: Waiters) -> None:
        self.waiters = waiters
        self._socket = LocalWaiter(results_key(wake_key))  # OSError: no Unix sockets here
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobframe-results", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._socket.wait(1.0):
                    self.waiters.wake_all()
        finally:
            self._socket.close()

    def close(self) -> None:
        """Stop the thread; it removes its socket."""
        self._stop.set()
        poke_socket(self._socket)  # wake it now rather than at its next timeout


class ResultListener:
    """A daemon thread ``LISTEN`` ing for final records on PostgreSQL; it wakes `Waiters`.

    A lost connection is made again after a second; meanwhile waiters poll."""

    def __init__(self, url: sa.URL, waiters: Waiters) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.waiters = waiters
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobframe-results", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            conn: Any = None
            try:
                conn = psycopg.connect(self.conninfo, autocommit=True)
                conn.execute(f"LISTEN {CHANNEL}")
                self.listening.set()
                while not self._stop.is_set():
                    for notice in conn.notifies(timeout=0.25):
                        self.waiters.wake(notice.payload.split())
            except Exception as exc:
                self.listening.clear()
                log.warning("LISTEN %s failed (%s); waiters poll until it is back", CHANNEL, exc)
                self._stop.wait(1.0)
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # a broken connection may fail to close; nothing to keep
                        log.debug("closing the LISTEN connection failed", exc_info=True)

    def close(self) -> None:
        """Stop the thread and close its connection (within a quarter of a second: a database
        dropped right after must not find it open)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(2.0)


__all__ = ["ResultListener", "SocketListener", "Waiters", "poke_waiters", "results_key"]
