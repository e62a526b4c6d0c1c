"""The worker's log handler: lines below WARNING are written in batches, a WARNING at once with
every line before it, nothing is lost by a graceful exit, and a killed worker loses at most the
lines of its last flush interval (documented in `jobframe.worker.log_handler`)."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobframe.testing.workers import wait_until
from jobframe.worker.log_handler import BufferedStreamHandler, TextFormatter
from jobframe.worker.logs import JsonFormatter


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    made = logging.getLogger("jobframe.test_log_handler")
    made.setLevel(logging.DEBUG)
    made.propagate = False
    yield made
    for handler in made.handlers:
        handler.close()
    made.handlers[:] = []


def _handler(stream: io.StringIO, interval: float) -> BufferedStreamHandler:
    handler = BufferedStreamHandler(stream, interval=interval)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    return handler


def test_lines_below_warning_wait_for_the_flush_interval(logger: logging.Logger) -> None:
    stream = io.StringIO()
    logger.addHandler(_handler(stream, interval=0.2))
    started = time.monotonic()
    logger.info("one")
    logger.debug("two")
    assert stream.getvalue() == ""  # in memory, not one write per line
    wait_until(stream.getvalue, 10, "the flusher to write the lines")
    assert time.monotonic() - started >= 0.2
    assert stream.getvalue() == "INFO one\nDEBUG two\n"


def test_a_warning_is_written_at_once_after_the_lines_before_it(logger: logging.Logger) -> None:
    stream = io.StringIO()
    handler = _handler(stream, interval=60)
    logger.addHandler(handler)
    logger.info("first")
    logger.warning("careful")
    assert stream.getvalue() == "INFO first\nWARNING careful\n"
    logger.info("after")
    handler.flush()
    assert stream.getvalue().endswith("WARNING careful\nINFO after\n")


def test_closing_writes_what_waits(logger: logging.Logger) -> None:
    stream = io.StringIO()
    handler = _handler(stream, interval=60)
    logger.addHandler(handler)
    logger.info("last words")
    handler.close()
    assert stream.getvalue() == "INFO last words\n"


def test_a_full_buffer_is_written_without_waiting(logger: logging.Logger) -> None:
    stream = io.StringIO()
    logger.addHandler(_handler(stream, interval=60))
    for i in range(2000):
        logger.info("line %d of a busy worker, long enough to fill the buffer soon", i)
    assert stream.getvalue().startswith("INFO line 0 of")  # 64 KiB were reached
    assert stream.getvalue().count("\n") < 2000


def test_the_text_format_is_loggings_own(logger: logging.Logger) -> None:
    record = logging.LogRecord("jobframe", logging.INFO, __file__, 1, "Performed %s", ("X",), None)
    stock = logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    ours = TextFormatter()
    assert ours.format(record) == stock.format(record)
    record.created += 3600  # another second: the cached time is replaced
    record.msecs = 5.0
    assert ours.format(record) == stock.format(record)
    assert ours.formatTime(record).endswith(",005")


def test_the_json_time_is_utc_to_the_millisecond() -> None:
    record = logging.LogRecord("jobframe", logging.INFO, __file__, 1, "m", (), None)
    record.created, record.msecs = 1_765_015_200.25, 250.0  # 2025-12-06T10:00:00.250Z
    assert '"time": "2025-12-06T10:00:00.250Z"' in JsonFormatter().format(record)


WORKER = textwrap.dedent(
    """
    import logging, sys, time
    from jobframe.worker import log_handler
    from jobframe.worker.logs import setup_logging

    log_handler.FLUSH_INTERVAL = 60  # no write by the flusher during the test
    setup_logging("INFO", "text")
    log = logging.getLogger("jobframe")
    log.info("in memory")
    log.warning("a warning writes everything")
    log.info("lost with the process")
    print("ready", flush=True)
    if sys.argv[1] == "exit":
        log.info("written at exit")
        sys.exit(0)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("end", ["exit", "kill"])
def test_what_a_worker_process_leaves_in_its_log(end: str, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    log_path = tmp_path / "stderr.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, str(script), end], stdout=subprocess.PIPE,
                                stderr=log)  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        if end == "kill":
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
        proc.wait(30)
        assert proc.stdout is not None
        proc.stdout.close()
    lines = [line.split(": ", 1)[1] for line in log_path.read_text().splitlines()]
    kept = ["in memory", "a warning writes everything"]
    if end == "exit":
        assert lines == [*kept, "lost with the process", "written at exit"]
    else:
        assert lines == kept  # SIGKILL: the INFO line of the last interval is gone
