"""Pacing and logging the worker's calls to a backend that stopped answering.

During an outage every thread of a worker (fetch, report, heartbeat and maintenance, registration)
fails on every attempt. Logging each attempt wrote the same warning five times a second and
buried the line that said when the outage began. Each of those threads keeps one `Outage`: it
says how long to wait before the next attempt (exponential backoff, capped, the first retry quick
because most outages are a blip), and logs twice per outage: once at WARNING when the backend
stops answering, once at INFO when it answers again, with the count of failed attempts and how
long the outage lasted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("jobframe.worker")

#: the pause after the first failed attempt; each further failure doubles it, up to the cap
FIRST_DELAY = 0.1
MAX_DELAY = 5.0


class Outage:
    """The state of one activity's calls to the backend (used from one thread at a time).

    Parameters:
        activity: what failed, as the log lines say it ("fetching jobs", "reporting outcomes").
        max_delay: the longest pause between attempts.
    """

    def __init__(self, activity: str, max_delay: float = MAX_DELAY) -> None:
        self.activity = activity
        self.max_delay = max(max_delay, FIRST_DELAY)
        self.failures = 0
        self.since: float | None = None  # monotonic time of the first failure of this outage

    @property
    def down(self) -> bool:
        return self.failures > 0

    def failed(self, exc: BaseException) -> float:
        """Count a failed attempt (logging the first of an outage); return the seconds to wait
        before the next one."""
        if not self.failures:
            self.since = time.monotonic()
            log.warning(
                "backend unreachable: %s failed (%s: %s); retrying with backoff up to %.1fs, "
                "and logging again once it answers",
                self.activity,
                type(exc).__name__,
                exc,
                self.max_delay,
            )
        self.failures += 1
        return min(FIRST_DELAY * 2.0 ** min(self.failures - 1, 32), self.max_delay)

    def recovered(self) -> None:
        """Note a successful attempt; the first one after an outage is logged with its count."""
        if not self.failures:
            return
        assert self.since is not None
        log.info(
            "backend reachable again after %d failed attempts over %.1fs (%s)",
            self.failures,
            time.monotonic() - self.since,
            self.activity,
        )
        self.failures, self.since = 0, None


def retry_briefly(step: Callable[[], None], what: str, attempts: int = 5) -> bool:
    """Run a shutdown step, with a few quick retries (about 1.5 s in all); False: it failed."""
    outage = Outage(what)
    for attempt in range(attempts):
        try:
            step()
        except Exception as exc:
            delay = outage.failed(exc)
            if attempt + 1 < attempts:
                time.sleep(delay)
        else:
            outage.recovered()
            return True
    return False
