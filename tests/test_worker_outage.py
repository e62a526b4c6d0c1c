"""`jobframe.worker.outage.Outage`: the backoff and the two log lines of one outage.

A worker through a real Redis outage: adapters/jobframe-redis/tests/test_reliability_faults.py.
"""

from __future__ import annotations

import logging

import pytest

from jobframe.worker.outage import Outage


def test_the_first_retry_is_quick_then_the_pause_doubles_up_to_the_cap() -> None:
    outage = Outage("fetching jobs", max_delay=1.0)
    delays = [outage.failed(ConnectionError("refused")) for _ in range(7)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0])
    for _ in range(2000):  # a long outage: the exponent never overflows
        assert outage.failed(ConnectionError("refused")) == 1.0


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage("reporting finished jobs")
    with caplog.at_level(logging.INFO, logger="jobframe.worker"):
        outage.recovered()  # no outage: nothing to say
        for _ in range(50):
            outage.failed(ConnectionError("Connection refused"))
        outage.recovered()
        outage.recovered()
        outage.failed(TimeoutError("timed out"))  # a second outage starts afresh
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "INFO", "WARNING"]
    assert lines[0][1].startswith(
        "backend unreachable: reporting finished jobs failed (ConnectionError: Connection refused)"
    )
    assert lines[1][1].startswith("backend reachable again after 50 failed attempts over ")
    assert "(TimeoutError: timed out)" in lines[2][1]
    assert outage.down and outage.failures == 1
