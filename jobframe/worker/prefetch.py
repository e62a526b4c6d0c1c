"""How many claims a worker holds at most: its running jobs plus those fetched ahead.

A fetch is a round trip (and a script run inside Redis, a statement on SQL) whatever its size, so
short jobs want large fetches: one fetch of 5 no-op jobs cost a Redis worker about half its CPU.
Long jobs want none ahead: a job claimed by a busy worker waits behind that worker's running jobs
while another worker may be idle. With ``--prefetch N`` the number ahead is N; by default it
follows the jobs: enough for about `AHEAD_SECONDS` of work (the mean run time of the recent jobs,
shared by the threads), never fewer than ``concurrency`` and never more than `MAX_AHEAD`. A worker
whose jobs take 10 ms or more holds as many ahead as it has threads, as before; one running no-op
jobs fetches up to `MAX_AHEAD` at a time. The claims held ahead are the worker's like the running
ones: a crash returns them to their queues through the reaper, a stop releases them. Only jobs
with a sync ``perform`` are timed (an ``async def perform`` shares the event loop, and its
time there says little about its cost); a worker that runs only those holds one per thread.
"""

from __future__ import annotations

#: seconds of work (by the recent mean run time) a worker holds ahead of its threads by default
AHEAD_SECONDS = 0.005
#: the most claims held ahead by default
MAX_AHEAD = 64
#: weight of the newest run time in the running mean
_WEIGHT = 0.05


class Prefetch:
    """The claims a worker may hold (`capacity`), from its threads and its jobs' run times.

    Parameters:
        concurrency: the worker's job threads.
        fixed: claims ahead of the threads, fixed (``--prefetch``); None: adapt to the jobs.
    """

    def __init__(self, concurrency: int, fixed: int | None = None) -> None:
        self.concurrency = concurrency
        self.fixed = None if fixed is None else max(0, fixed)
        self.mean_run: float | None = None  # seconds, over recent sync jobs
        self.capacity = concurrency + (concurrency if fixed is None else max(0, fixed))

    def put_back(self) -> None:
        """Count a claim a middleware gave back unperformed (a throttled start, deferred): as a
        job of `AHEAD_SECONDS`, so a worker whose claims go back fetches fewer ahead. Each one
        claimed ahead costs a reservation and a deferral, and claimed early it reserves late:
        300 jobs limited to 50 a second took 9.7-10.6 s on MariaDB instead of 6 with 64 ahead."""
        self.ran(AHEAD_SECONDS)

    def ran(self, seconds: float) -> None:
        """Count one job's run time (from its thread; races between threads only blur the mean)."""
        if self.fixed is not None:
            return
        mean = self.mean_run
        mean = seconds if mean is None else mean + _WEIGHT * (seconds - mean)
        self.mean_run = mean
        concurrency = self.concurrency
        ahead = int(AHEAD_SECONDS * concurrency / mean) if mean > 0 else MAX_AHEAD
        self.capacity = concurrency + min(MAX_AHEAD, max(concurrency, ahead))


__all__ = ["AHEAD_SECONDS", "MAX_AHEAD", "Prefetch"]
