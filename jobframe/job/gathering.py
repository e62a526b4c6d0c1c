"""Enqueueing from many coroutines at once: `Job.aenqueue` callers on one event loop share trips.

Every ``aenqueue`` used to cost a hop to a worker thread and back, and one write to the backend.
With 200 coroutines enqueueing, the hops alone (a queue, a thread switch, a wake-up of the loop
each) cost more than the writes, and the writes went one per hop. Here the first caller to find
no trip in flight on its loop leaves at once (a lone caller waits for nothing: no timer); callers
arriving while that trip is out queue up and leave together on the next one. A trip runs each
job's enqueue steps (checks, callbacks, instrumentation: `Enqueuing._enqueue_steps`, the same as
``enqueue``) in a producer thread, writes the jobs with one `QueueAdapter.enqueue_each` per
adapter (Redis: one pipeline, each job acknowledged on its own), and hands every caller its own
outcome: its job, or its own exception.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import os
import weakref
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from jobframe.backend.adapter import QueueAdapter
from jobframe.job.enqueuing import finish_steps

if TYPE_CHECKING:
    from jobframe.job.base import Job

#: Threads that run the trips: one at a time per event loop, so a few serve many loops.
PRODUCER_THREADS = 8

Item = tuple["Job", contextvars.Context, "asyncio.Future[None]"]

_threads: tuple[int, ThreadPoolExecutor] | None = None
_gatherers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gatherer] = (
    weakref.WeakKeyDictionary()
)


def _producer_threads() -> ThreadPoolExecutor:
    """Made on first use, and anew in a forked child (whose copy would have no threads)."""
    global _threads
    made = _threads
    if made is None or made[0] != os.getpid():
        pool = ThreadPoolExecutor(PRODUCER_THREADS, thread_name_prefix="jobframe-enqueue")
        made = _threads = (os.getpid(), pool)
    return made[1]


async def enqueue(job: Job) -> None:
    """Enqueue ``job`` (prepared by the caller) on the running loop's next trip.

    Raises: what ``job.enqueue()`` would raise, in this caller only.
    """
    loop = asyncio.get_running_loop()
    gatherer = _gatherers.get(loop)
    if gatherer is None:
        gatherer = _gatherers[loop] = _Gatherer(loop)
    await gatherer.submit(job)


class _Gatherer:
    """The trips of one event loop; used from that loop's thread only, so it needs no lock."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queued: list[Item] = []
        self.in_flight = False

    def submit(self, job: Job) -> asyncio.Future[None]:
        done: asyncio.Future[None] = self.loop.create_future()
        # each job's steps run in its caller's context (after_commit, enqueue_in...)
        self.queued.append((job, contextvars.copy_context(), done))
        if not self.in_flight:
            self._leave()
        return done

    def _leave(self) -> None:
        trip, self.queued = self.queued, []
        self.in_flight = True
        items = [(job, context) for job, context, _ in trip]
        running = self.loop.run_in_executor(_producer_threads(), enqueue_batch, items)
        running.add_done_callback(lambda finished: self._back(trip, finished))

    def _back(self, trip: list[Item], finished: asyncio.Future[list[BaseException | None]]) -> None:
        self.in_flight = False
        try:
            outcomes = finished.result()
        except BaseException as exc:  # the trip itself failed: every caller on it hears so
            outcomes = [copy.copy(exc) for _ in trip]
        for (_, _, done), outcome in zip(trip, outcomes, strict=True):
            if done.cancelled():
                continue
            if outcome is None:
                done.set_result(None)
            else:
                done.set_exception(outcome)
        if self.queued:
            self._leave()


Steps = Generator["QueueAdapter", None, None]


def enqueue_batch(items: list[tuple[Job, contextvars.Context]]) -> list[BaseException | None]:
    """Enqueue each job as ``job.enqueue()`` would, in its own context, the writes of those on
    one adapter sent with one `QueueAdapter.enqueue_each`. Returns each job's outcome: None,
    or the exception ``enqueue()`` would have raised."""
    outcomes: list[BaseException | None] = [None] * len(items)
    due: dict[int, tuple[QueueAdapter, list[tuple[int, Job, contextvars.Context, Steps]]]] = {}
    for index, (job, context) in enumerate(items):
        steps: Steps = job._enqueue_steps(False)
        try:
            adapter = context.run(next, steps)
        except StopIteration:
            continue  # nothing to write (held for a commit, a callback aborted)
        except Exception as exc:
            outcomes[index] = exc
            continue
        due.setdefault(id(adapter), (adapter, []))[1].append((index, job, context, steps))
    for adapter, pending in due.values():
        results: list[Any]
        if type(adapter).enqueue_each is QueueAdapter.enqueue_each:
            # no shared round trip to gain: each write in its caller's context, as `enqueue`
            write = adapter.enqueue_each
            results = [context.run(write, [job])[0] for _, job, context, _ in pending]
        else:
            try:
                results = adapter.enqueue_each([job for _, job, _, _ in pending])
            except Exception as exc:
                results = [copy.copy(exc) for _ in pending]
        for (index, _, context, steps), result in zip(pending, results, strict=True):
            try:
                context.run(finish_steps, steps, result)
            except Exception as exc:
                outcomes[index] = exc
    return outcomes
