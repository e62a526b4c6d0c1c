"""The worker's log handler: lines below WARNING are written in batches, a WARNING at once with
every line before it, nothing is lost by a graceful exit, and a killed worker loses at most the
lines of its last flush interval (documented in `jobframe.worker.log_handler`)."""

from __future__ import annotations

import contextlib
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
from typing import Any

import pytest

from jobframe.testing.workers import wait_until
from jobframe.worker.log_handler import BufferedStreamHandler, TextFormatter, direct
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


@contextlib.contextmanager
def _worker_root() -> Iterator[BufferedStreamHandler]:
    """The root logger as `jobframe.worker.logs.setup_logging` leaves it (text, INFO), writing
    to a `io.StringIO`, inside the test (pytest adds its handlers once the fixtures are set up);
    pytest's handlers put back afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    handler = BufferedStreamHandler(io.StringIO(), interval=60)
    handler.setFormatter(TextFormatter())
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        handler.close()
        root.handlers[:] = saved
        root.setLevel(level)


def test_a_performed_line_written_without_a_record_is_its_records_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fixture_jobs.hello_job import HelloJob

    from jobframe import log_subscriber
    from jobframe.notifications import Event

    job = HelloJob("world")
    job.executions = 1
    event = Event("perform", job, None, 0.0123)
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.25)
    jobframe_logger = logging.getLogger("jobframe")
    with _worker_root() as handler:
        assert direct(jobframe_logger, logging.INFO) is handler
        log_subscriber.on_event(event)  # no record made
        handler.addFilter(lambda record: True)  # a filter would see the record: it is made
        assert direct(jobframe_logger, logging.INFO) is None
        log_subscriber.on_event(event)
        handler.flush()
        lines = handler.stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0] == lines[1]
    assert lines[0].endswith(
        f" {os.getpid()} INFO jobframe: Performed HelloJob (Job ID: {job.job_id}) on queue "
        "'default' in 12.30ms"
    )
    assert ",250 " in lines[0]


def _second_handler(logger: logging.Logger) -> None:
    logging.getLogger().addHandler(logging.NullHandler())


def _own_handler(logger: logging.Logger) -> None:
    logger.addHandler(logging.NullHandler())


def _json(logger: logging.Logger) -> None:
    logging.getLogger().handlers[0].setFormatter(JsonFormatter())


def _no_propagation(logger: logging.Logger) -> None:
    logger.propagate = False


@pytest.mark.parametrize("change", [_second_handler, _own_handler, _json, _no_propagation])
def test_any_other_logging_setup_makes_the_record(change: Any) -> None:
    made = logging.getLogger("jobframe")
    with _worker_root() as handler:
        try:
            assert direct(made, logging.INFO) is handler
            change(made)
            assert direct(made, logging.INFO) is None
        finally:
            made.handlers[:] = []
            made.propagate = True


def test_a_record_factory_of_the_applications_makes_the_record() -> None:
    stock = logging.getLogRecordFactory()
    with _worker_root():
        logging.setLogRecordFactory(lambda *args, **kwargs: stock(*args, **kwargs))
        try:
            assert direct(logging.getLogger("jobframe"), logging.INFO) is None
        finally:
            logging.setLogRecordFactory(stock)
