"""The worker's log handler and formatters: a line per job must cost microseconds, not a system
call each.

`logging.StreamHandler` writes and flushes every record at once: at the default INFO level that is
a ``write`` per job, and each one hands the GIL to another job thread and back. The worker's
`BufferedStreamHandler` keeps lines below WARNING in memory and writes them together, at most
`FLUSH_INTERVAL` seconds after the first of them (a background thread, woken only when there is
something to write), or sooner once `MAX_BUFFER` characters wait. A WARNING or worse is written at
once, with every line before it, in order. `logging.shutdown` (a graceful stop, an exception that
ends the process) writes what is left. What a worker killed with SIGKILL (or a crash of the
interpreter itself) loses is the INFO and DEBUG lines of its last `FLUSH_INTERVAL` seconds.

The formatters keep the text of the current second: `logging.Formatter.formatTime` formats the
date and time of every record anew (`time.localtime` and `time.strftime`, about 3 µs).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, TextIO

from jobframe import process_id

#: seconds a line below WARNING may wait in memory before it is written
FLUSH_INTERVAL = 0.1
#: characters waiting in memory that make the next line write them all at once
MAX_BUFFER = 64 * 1024
TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
#: what `logging.Handler.format` formats with when the handler has no formatter
_DEFAULT = logging.Formatter()


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A `logging.StreamHandler` that writes lines below ``flush_level`` in batches.

    Parameters:
        stream: where lines go (``sys.stderr`` by default, as for `logging.StreamHandler`).
        interval: the longest a line below ``flush_level`` waits in memory, in seconds
            (`FLUSH_INTERVAL` by default).
        flush_level: lines at this level or above are written at once, after the ones waiting.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        interval: float | None = None,
        flush_level: int = logging.WARNING,
    ) -> None:
        super().__init__(stream)
        self.interval = FLUSH_INTERVAL if interval is None else interval
        self.flush_level = flush_level
        self._buffer: list[str] = []
        self._size = 0
        self._due = threading.Event()  # set while lines wait for the flusher
        self._pending = False  # whether `_due` is set (both changed under `self.lock`)
        self._closed = False
        self._flusher_pid = 0  # the process whose flusher thread runs (none after a fork)

    def handle(self, record: logging.LogRecord) -> Any:
        """`logging.Handler.handle` without its three calls (``filter``, ``acquire``,
        ``release``) when the handler has no filters: it runs once per job at INFO."""
        if self.filters:
            return super().handle(record)
        with self.lock:  # type: ignore[union-attr]
            self.emit(record)
        return record  # truthy, as `Handler.handle` returns (the record itself on 3.12+)

    def emit(self, record: logging.LogRecord) -> None:
        # `handle` holds `self.lock` around this call.
        try:
            line = (self.formatter or _DEFAULT).format(record) + self.terminator
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
            return
        self._add(line, record.levelno, record)

    def write_line(self, created: float, level: int, name: str, message: str) -> None:
        """Write what `emit` writes for a record of logger ``name`` at ``level`` made at
        ``created`` whose message is ``message``, for a caller that made no record because
        this handler alone sees it (see `direct`). The formatter must be a `TextFormatter`."""
        formatter: TextFormatter = self.formatter  # type: ignore[assignment]
        asctime = formatter.asctime(created, int((created - int(created)) * 1000))
        line = f"{asctime} {process_id.PID} {logging.getLevelName(level)} {name}: {message}"
        with self.lock:  # type: ignore[union-attr]
            self._add(line + self.terminator, level, None)

    def _add(self, line: str, level: int, record: logging.LogRecord | None) -> None:
        """Buffer ``line``, or write it with the others at once (see the class). Called with
        ``self.lock`` held."""
        self._buffer.append(line)
        self._size += len(line)
        if level >= self.flush_level or self._size >= MAX_BUFFER or self._closed:
            self._write(record)
        elif self._flusher_pid != process_id.PID:
            self._start_flusher()
            self._pending = True
            self._due.set()
        elif not self._pending:  # `self._due.is_set()`, less a call per line
            self._pending = True
            self._due.set()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write(None)

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._closed = True
            self._write(None)
        self._due.set()  # the flusher sees the handler closed and ends
        super().close()

    def _write(self, record: logging.LogRecord | None) -> None:
        """Write what waits, in one call. Called with ``self.lock`` held."""
        if not self._buffer:
            return
        text = "".join(self._buffer)
        self._buffer.clear()
        self._size = 0
        try:
            self.stream.write(text)
            self.stream.flush()
        except RecursionError:
            raise
        except Exception:
            if record is None:
                record = logging.makeLogRecord({"msg": "writing buffered log lines failed"})
            self.handleError(record)

    def _start_flusher(self) -> None:
        # After a fork the child has no flusher thread, and the lines its parent had not yet
        # written are the parent's to write.
        if self._flusher_pid:
            self._buffer[:-1] = []
            self._size = sum(map(len, self._buffer))
        self._flusher_pid = os.getpid()
        self._due = threading.Event()  # the parent's may have been set, or its lock held
        thread = threading.Thread(target=self._flush_when_due, name="jobframe-log", daemon=True)
        thread.start()

    def _flush_when_due(self) -> None:
        due, pid = self._due, os.getpid()
        while not self._closed and self._flusher_pid == pid and due is self._due:
            due.wait()
            time.sleep(self.interval)  # lines emitted meanwhile join this write
            with self.lock:  # type: ignore[union-attr]
                due.clear()
                self._pending = False
                self._write(None)


class TextFormatter(logging.Formatter):
    """``logging.Formatter`` with the worker's text format (`TEXT_FORMAT`), the date and time of
    the current second formatted once."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        """`logging.Formatter.format` with `TEXT_FORMAT` written out (an f-string, not ``%`` over
        the record's attributes: 2.2 → 1.3 µs a line); a record with a traceback or a stack
        goes the stock way."""
        if record.exc_info or record.exc_text or record.stack_info or record.process is None:
            return super().format(record)
        record.message = message = record.getMessage()
        record.asctime = asctime = self.formatTime(record)
        return f"{asctime} {record.process:d} {record.levelname} {record.name}: {message}"

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self.asctime(record.created, int(record.msecs))

    def asctime(self, created: float, msecs: int) -> str:
        """`formatTime` of a record made at ``created`` (epoch seconds) with ``msecs``."""
        second = int(created)
        cached = self._second  # one read: another thread may replace it meanwhile
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)))
            self._second = cached
        return f"{cached[1]},{msecs:03d}"


def direct(logger: logging.Logger, level: int) -> BufferedStreamHandler | None:
    """The handler that alone would write a record of ``logger`` at ``level`` (already known
    to be enabled), when the line can be written without making the record at all: what the
    worker's own logging is (`jobframe.worker.logs.setup_logging` with ``text``), checked on
    every call since an application may change it at any time. Else None.

    That is: records are made by `logging`'s own factory and logger class; ``logger`` has no
    filters and no handlers and hands its records to the root logger, which has no filters and
    one handler: a `BufferedStreamHandler` without filters, at or below ``level``, formatting
    with a `TextFormatter`. Nothing else could then see the record (a test's ``caplog`` or an
    application's handler makes this None): the INFO line per job spent 58,000 instructions,
    two thirds of them on the record and its way through `logging`.
    """
    root = logging.root
    if (
        logger.parent is not root
        or logger.filters
        or logger.handlers
        or not logger.propagate
        or type(logger) is not logging.Logger
        or root.filters
        or len(root.handlers) != 1
        or logging.getLogRecordFactory() is not logging.LogRecord
        or not logging.logProcesses  # else `TextFormatter` formats the stock way
    ):
        return None
    handler = root.handlers[0]
    if (
        type(handler) is not BufferedStreamHandler
        or handler.filters
        or level < handler.level
        or type(handler.formatter) is not TextFormatter
    ):
        return None
    return handler


def utc_second(created: float, cache: list[tuple[int, str]]) -> str:
    """``created`` as ISO 8601 UTC to the second (``2026-12-06T10:00:00``), cached in ``cache``
    (a one-item list) for the rest of that second."""
    second = int(created)
    cached = cache[0]
    if cached[0] != second:
        cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        cache[0] = cached
    return cached[1]


def formatter(fmt: str) -> logging.Formatter:
    """The worker's formatter for ``--log-format`` ``fmt`` (``text`` or ``json``)."""
    if fmt == "json":
        from jobframe.worker.logs import JsonFormatter

        return JsonFormatter()
    return TextFormatter()


__all__ = [
    "FLUSH_INTERVAL",
    "MAX_BUFFER",
    "BufferedStreamHandler",
    "TextFormatter",
    "direct",
    "formatter",
]
