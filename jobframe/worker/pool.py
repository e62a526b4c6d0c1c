"""Where claimed jobs run: a fixed set of threads for sync jobs, one event loop for async ones.

A plain queue feeds the threads (no `Future` per job): on a no-op job the bookkeeping of a
``ThreadPoolExecutor`` costs more than the job.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from jobframe.worker import execution
from jobframe.worker.backend import Claim, Outcome

Finish = Callable[[Claim, Outcome], None]


class JobPool:
    """Runs jobs and hands each `Outcome` to ``finish`` (from the thread that ran the job)."""

    def __init__(
        self,
        concurrency: int,
        run_sync: Callable[[Claim, Any], Outcome],
        run_async: Callable[[Claim, Any], Coroutine[Any, Any, Outcome]],
        finish: Finish,
    ) -> None:
        self.concurrency = concurrency
        self._run_sync, self._run_async, self._finish = run_sync, run_async, finish
        self._work: queue.SimpleQueue[tuple[Claim, Any] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._serve, name=f"jobframe-job-{index}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def submit(self, claim: Claim, job: Any) -> None:
        if inspect.iscoroutinefunction(getattr(job, "perform", None)):
            future = asyncio.run_coroutine_threadsafe(
                self._run_async(claim, job), self._event_loop()
            )
            future.add_done_callback(lambda f: self._finish(claim, _result(claim, f)))
        else:
            self._work.put((claim, job))

    def take_unstarted(self) -> list[Claim]:
        """Remove and return the claims no thread has begun (shutdown releases them at once)."""
        taken: list[Claim] = []
        while True:
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                return taken
            if item is not None:
                taken.append(item[0])

    def stop(self) -> None:
        for _ in self._threads:
            self._work.put(None)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self) -> None:
        while (item := self._work.get()) is not None:
            claim, job = item
            try:
                outcome = self._run_sync(claim, job)
            except BaseException as exc:  # the runtime itself failed around the job
                outcome = Outcome(claim, "failed", execution.error_info(exc, "worker error"))
            self._finish(claim, outcome)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=self._loop.run_forever, name="jobframe-asyncio", daemon=True
            )
            thread.start()
        return self._loop


def _result(claim: Claim, future: Any) -> Outcome:
    try:
        outcome: Outcome = future.result()
    except BaseException as exc:
        outcome = Outcome(claim, "failed", execution.error_info(exc, "worker error"))
    return outcome
