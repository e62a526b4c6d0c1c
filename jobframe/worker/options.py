"""`WorkerOptions`: the tuning of one worker process (``jobframe work``'s flags map onto it)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from jobframe.worker.time_limits import DEFAULT_GRACE


@dataclass
class WorkerOptions:
    """Tuning of one worker process; the CLI's flags map onto these."""

    queues: list[str]
    weights: dict[str, int] | None = None  # set: weighted random queue order per fetch
    concurrency: int = 5
    shutdown_timeout: float = 25.0
    heartbeat_interval: float = 5.0
    heartbeat_timeout: float = 30.0
    max_crashes: int = 3
    scheduler_interval: float = 0.2
    fetch_timeout: float = 1.0
    report_batch: int = 500
    report_linger: float = 0.002  # a small batch waits this long for more outcomes to join it
    # claims held beyond `concurrency`; None: about 5 ms of work (`jobframe.worker.prefetch`)
    prefetch: int | None = None
    job_timeout: float | None = None  # no job runs longer (its class's `timeout` may be less)
    timeout_grace: float = DEFAULT_GRACE  # a thread job not stopped by then: the process exits
    max_payload_bytes: int | None = None  # larger ones go to the dead set; None: the setting
    # A stopping worker gives up reporting to an unreachable backend after this many seconds.
    report_timeout: float = 5.0

    def queue_order(self) -> list[str]:
        """Strict order as given, or a fresh weighted-random order for each fetch."""
        if not self.weights:
            return self.queues
        pool = dict(self.weights)
        order = []
        while pool:
            name = random.choices(list(pool), weights=list(pool.values()))[0]
            order.append(name)
            del pool[name]
        return order
