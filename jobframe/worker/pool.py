"""Where claimed jobs run: a fixed set of threads for sync jobs, one event loop for async ones.

The threads take their work from ``next_work`` (the runtime's leader/follower hand-out, which may
make the calling thread fetch for everyone), not from a queue fed by another thread: a job fetched
by an idle thread starts on that thread, without a wake-up of a second one on its way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from jobframe.backend.worker import Claim, Outcome
from jobframe.worker import execution

#: None: no outcome to report (a middleware settled the claim itself)
Finish = Callable[[Claim, Outcome | None], None]
log = logging.getLogger("jobframe.worker")


class JobPool:
    """Runs jobs and hands each `Outcome` to ``finish`` (from the thread that ran the job)."""

    def __init__(
        self,
        concurrency: int,
        next_work: Callable[[], tuple[Claim, Any] | None],
        run_sync: Callable[[Claim, Any], Outcome | None],
        run_async: Callable[[Claim, Any], Coroutine[Any, Any, Outcome | None]],
        finish: Finish,
    ) -> None:
        self.concurrency = concurrency
        self._next_work = next_work
        self._run_sync, self._run_async, self._finish = run_sync, run_async, finish
        self.threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def start(self) -> None:
        for index in range(self.concurrency):
            self._spawn(index)

    def _spawn(self, index: int) -> None:
        thread = threading.Thread(target=self._serve, name=f"jobframe-job-{index}", daemon=True)
        if index < len(self.threads):
            self.threads[index] = thread
        else:
            self.threads.append(thread)
        thread.start()

    def revive(self) -> int:
        """Replace job threads that died (``_serve`` lets nothing out, so this is a last line of
        defence against a bug), logging each: the pool never shrinks silently. Returns how many
        were replaced."""
        if self._stopping:
            return 0
        dead = [i for i, thread in enumerate(self.threads) if not thread.is_alive()]
        for index in dead:
            log.error("job thread %s died; starting a new one", self.threads[index].name)
            self._spawn(index)
        return len(dead)

    def submit_async(self, claim: Claim, job: Any) -> None:
        """Run an ``async def perform`` job on the pool's event loop (it holds no thread)."""
        future = asyncio.run_coroutine_threadsafe(self._run_async(claim, job), self._event_loop())
        future.add_done_callback(lambda f: self._finish(claim, _result(claim, f)))

    def stop(self) -> None:
        """Stop the event loop; the threads end once ``next_work`` returns None."""
        self._stopping = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    def _serve(self) -> None:
        """Run jobs until ``next_work`` says stop. Nothing escapes: an error in the runtime
        around a job is that job's failure, and one in the hand-out is logged and retried."""
        pause = 0.1
        while True:
            try:
                item = self._next_work()
            except Exception:
                log.exception("taking the next job failed; trying again in %.1fs", pause)
                time.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            pause = 0.1
            if item is None:
                return
            claim, job = item
            outcome: Outcome | None
            try:
                outcome = self._run_sync(claim, job)
            except BaseException as exc:  # the runtime itself failed around the job
                outcome = Outcome(claim, "failed", execution.error_info(exc, "worker error"))
            try:
                self._finish(claim, outcome)
            except Exception:
                log.exception("recording the outcome of job %s failed", claim.id)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_run_until_stopped, args=(self._loop,), name="jobframe-asyncio", daemon=True
            )
            thread.start()
        return self._loop


def _run_until_stopped(loop: asyncio.AbstractEventLoop) -> None:
    """Run the async jobs' loop until `JobPool.stop`, then close it: a worker that runs inside an
    application (or a test) must not leave an open loop and its sockets behind."""
    try:
        loop.run_forever()
    finally:
        loop.close()


def _result(claim: Claim, future: Any) -> Outcome | None:
    try:
        outcome: Outcome | None = future.result()
    except BaseException as exc:
        outcome = Outcome(claim, "failed", execution.error_info(exc, "worker error"))
    return outcome
