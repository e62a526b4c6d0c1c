"""The shared worker runtime on the in-memory store, for the runtime's own tests: a
`MemoryStore` and `Worker`s run on threads of the test process."""

from __future__ import annotations

import threading
from typing import Any

from jobframe.backend.payload import dump_payload
from jobframe.queue_adapters.memory_store import MemoryStore
from jobframe.worker.runtime import Worker, WorkerOptions


class Runtime:
    """A `MemoryStore` and the `Worker`s a test runs on it (in threads of the test process)."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.running: list[tuple[Worker, threading.Thread]] = []  # (worker, its thread)

    def push(self, *jobs: Any, queue: str = "default", at: float | None = None) -> list[str]:
        """Store ``jobs`` (``jobframe.Job`` objects) on ``queue`` in one step; their ids."""
        for job in jobs:
            if job.flow is None:  # as enqueueing does: the flow control goes in the payload
                job.flow = job.compute_flow()
        entries = [
            self.store.new_entry(
                f"{queue}-{job.job_id}", queue, job.priority, dump_payload(job.serialize()), at
            )
            for job in jobs
        ]
        self.store.add(entries)
        return [entry.id for entry in entries]

    def start(self, middleware: Any = None, **options: Any) -> Worker:
        """Run a `Worker` on the store with ``options`` (``queues`` defaults to every queue)
        and ``middleware`` (default: the built-in flow control)."""
        options.setdefault("queues", ["*"])
        worker = Worker(self.store, WorkerOptions(**options), middleware=middleware)
        thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
        thread.start()
        self.running.append((worker, thread))
        return worker

    def join(self, worker: Worker, timeout: float = 15.0) -> None:
        """Wait for a stopped worker's ``run()`` to return."""
        for candidate, thread in self.running:
            if candidate is worker:
                thread.join(timeout)
                assert not thread.is_alive(), "the worker did not stop"

    def close(self) -> None:
        for worker, _ in self.running:
            worker.stop(release_now=True)
        for worker, _ in self.running:
            self.join(worker)
