"""The worker's heartbeat thread: heartbeat, promote scheduled jobs, reap dead processes and
check job time limits, on every tick of ``scheduler_interval``.

Heartbeats come from their own thread so that a job that never yields the CPU cannot make the
process look dead. While the backend is unreachable the attempts back off, never beyond the
heartbeat interval: a worker that came back later than that could be reaped by its peers.
"""

from __future__ import annotations

import threading
import time

from jobframe.backend.worker import WorkerBackend
from jobframe.worker.middleware import Chain
from jobframe.worker.options import WorkerOptions
from jobframe.worker.outage import Outage
from jobframe.worker.pool import JobPool


class Maintenance:
    """The loop `jobframe.worker.runtime.Worker` runs on its ``jobframe-heartbeat`` thread.

    Parameters:
        backend: the worker's backend (``heartbeat`` and ``maintain``).
        process_id: the worker's registered id.
        options: the worker's options (intervals, timeouts, ``max_crashes``).
        chain: the middleware, ticked every round (time limits, throttling).
        pool: the job threads, revived when one died, unless the worker is stopping.
        stop: set when the worker is stopping: no reaping, promoting or pruning then.
        drained: set when the stop's drain is over: the loop ends.
    """

    def __init__(
        self,
        backend: WorkerBackend,
        process_id: str,
        options: WorkerOptions,
        chain: Chain,
        pool: JobPool,
        stop: threading.Event,
        drained: threading.Event,
    ) -> None:
        self.backend, self.process_id, self.options = backend, process_id, options
        self.chain, self.pool, self.stop, self.drained = chain, pool, stop, drained

    def run(self) -> None:
        """Tick until the drain is over (see the module)."""
        options = self.options
        outage = Outage("heartbeat and maintenance", max_delay=options.heartbeat_interval)
        next_beat = retry_at = 0.0
        down_since: float | None = None  # when the backend stopped answering
        grace_until, extra = 0.0, 0.0
        # It goes on beating (and checking time limits) while a stop drains the running jobs:
        # a drain longer than heartbeat_timeout (a shutdown_timeout of minutes, for long jobs)
        # had its peers reap the jobs it was still running and run them a second time.
        while not self.drained.wait(options.scheduler_interval):
            self.chain.tick(time.monotonic())
            stopping = self.stop.is_set()
            if not stopping:
                self.pool.revive()
            now = time.monotonic()
            if now < retry_at:
                continue
            try:
                if now >= next_beat:
                    self.backend.heartbeat(self.process_id)
                    next_beat = now + options.heartbeat_interval
                if stopping:
                    continue  # no reaping, promoting or pruning on the way out
                if down_since is not None:
                    # Back after an outage: every peer's last heartbeat is at least as old as the
                    # outage. Give live peers time to beat again before reaping any of them.
                    extra = now - down_since + options.heartbeat_timeout
                    grace_until, down_since = now + 2 * options.heartbeat_timeout, None
                timeout = options.heartbeat_timeout + (extra if now < grace_until else 0.0)
                self.backend.maintain(timeout, options.max_crashes)
            except Exception as exc:
                down_since = now if down_since is None else down_since
                retry_at = now + outage.failed(exc)
            else:
                outage.recovered()


__all__ = ["Maintenance"]
