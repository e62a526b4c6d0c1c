"""Where claimed jobs run: a fixed set of threads for sync jobs, one event loop for async ones.

The threads take their work from ``next_work`` (the runtime's leader/follower hand-out, which may
make the calling thread fetch for everyone), not from a queue fed by another thread: a job fetched
by an idle thread starts on that thread, without a wake-up of a second one on its way.
"""

from __future__ import annotations

import asyncio
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
        next_work: Callable[[], tuple[Claim, Any] | None],
        run_sync: Callable[[Claim, Any], Outcome],
        run_async: Callable[[Claim, Any], Coroutine[Any, Any, Outcome]],
        finish: Finish,
    ) -> None:
        self.concurrency = concurrency
        self._next_work = next_work
        self._run_sync, self._run_async, self._finish = run_sync, run_async, finish
        self.threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._serve, name=f"jobframe-job-{index}", daemon=True)
            self.threads.append(thread)
            thread.start()

    def submit_async(self, claim: Claim, job: Any) -> None:
        """Run an ``async def perform`` job on the pool's event loop (it holds no thread)."""
        future = asyncio.run_coroutine_threadsafe(self._run_async(claim, job), self._event_loop())
        future.add_done_callback(lambda f: self._finish(claim, _result(claim, f)))

    def stop(self) -> None:
        """Stop the event loop; the threads end once ``next_work`` returns None."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self) -> None:
        while (item := self._next_work()) is not None:
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
