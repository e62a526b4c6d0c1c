"""Flow control with real ``jobframe work`` processes (issue #14): 4 workers of 5 threads run
2,000 jobs over 20 keys limited to 2 at once, also with a worker SIGKILLed mid-run; 8 producer
processes race one unique key; 300 jobs limited to 50 a second take 6 seconds.

The limit is checked twice: by a sampler reading the inspector's running jobs every 10 ms (where
it `sees_workers`), and from the journal, where each run writes its start and end times (runs
sit inside the slots they hold, so at no instant may more than two runs of a key overlap).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.inspector import Inspector
from jobframe.testing.conformance.base import ConformanceBase, require, require_inspector, tells
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.conformance_jobs import read
from jobframe.testing.flow_process_jobs import (
    MODULE,
    FiftyPerSecondJob,
    TwoPerKeyBrieflyJob,
    TwoPerKeyJob,
)
from jobframe.testing.workers import QUIET, wait_until

JOBS, KEYS, LIMIT, PROCESSES, THREADS = 2000, 20, 2, 4, 5


def most_at_once(runs: list[dict[str, Any]]) -> dict[str, int]:
    """Per key, the most journal runs under way at one instant."""
    edges: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for run in runs:
        # an end sorts before a start at the same instant: one slot handed straight on
        edges[run["tag"]] += [(run["start"], 1), (run["end"], -1)]
    peaks = {}
    for key, points in edges.items():
        running = peak = 0
        for _, step in sorted(points):
            running += step
            peak = max(peak, running)
        peaks[key] = peak
    return peaks


@contextmanager
def sampled(inspector: Inspector, every: float = 0.01) -> Iterator[dict[str, int]]:
    """Sample the running jobs every ``every`` seconds in a thread; yields (and fills) the most
    seen at once per key, with ``"(samples)"`` the number of samples that saw a running job."""
    peaks: dict[str, int] = Counter()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every):
            per_key: Counter[str] = Counter()
            for info in inspector.jobs("running", limit=1000):
                args = (info.arguments or {}).get("args") or [None, None]
                per_key[str(args[1])] += 1
            for key, n in per_key.items():
                peaks[key] = max(peaks[key], n)
            peaks["(samples)"] += bool(per_key)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join(10)


class FlowProcessTests(ConformanceBase):
    def _limited_run(
        self, adapter: QueueAdapter, workers: WorkerHarness, cls: type[jobframe.Job], kill: bool
    ) -> None:
        inspector = require_inspector(adapter)
        journal = str(workers.folder / f"limited-{uuid.uuid4().hex[:6]}.jsonl")
        keys = [f"acct-{uuid.uuid4().hex[:6]}-{n}" for n in range(KEYS)]
        # runs of ten jobs of one key: each fetch of five finds its key full
        jobs = [cls(journal, keys[(n // 10) % KEYS]) for n in range(JOBS)]
        for start in range(0, JOBS, 500):
            assert jobframe.perform_all_later(jobs[start : start + 500]) == 500
        procs = [workers.start(*QUIET, concurrency=THREADS, imports=[MODULE])
                 for _ in range(PROCESSES)]  # fmt: skip
        sampling = tells(inspector, "sees_workers")

        def done() -> int:
            return len({line["job_id"] for line in read(journal)})

        with sampled(inspector) if sampling else _nothing() as peaks:
            if kill:
                wait_until(lambda: done() >= JOBS // 4, 40, f"{JOBS // 4} jobs to run")
                workers.check_alive()
                workers.kill(procs[1])
            wait_until(lambda: done() >= JOBS, 55, f"all {JOBS} jobs to run")
        workers.check_alive()
        runs = read(journal)
        assert {line["job_id"] for line in runs} == {job.job_id for job in jobs}
        over = {k: n for k, n in most_at_once(runs).items() if n > LIMIT}
        assert not over, f"more than {LIMIT} runs of a key overlapped: {over}"
        if sampling:
            assert peaks["(samples)"] > 10, "the sampler never saw a running job"
            seen = {k: n for k, n in peaks.items() if k in keys and n > LIMIT}
            assert not seen, f"the inspector showed more than {LIMIT} running of a key: {seen}"
        wait_until(lambda: inspector.count("blocked") == 0, 15, "no job left blocked")
        if kill:
            assert len(runs) >= JOBS, "a job of the killed worker was lost"

    @pytest.mark.slow
    def test_four_workers_run_at_most_two_per_key(
        self, adapter: QueueAdapter, workers: WorkerHarness
    ) -> None:
        require(adapter, "durable")
        require(adapter, "concurrency_limits")
        self._limited_run(adapter, workers, TwoPerKeyJob, kill=False)

    @pytest.mark.slow
    def test_at_most_two_per_key_when_a_worker_is_killed_mid_run(
        self, adapter: QueueAdapter, workers: WorkerHarness
    ) -> None:
        """The killed worker's slots are freed by the reaper or lapse after 5 s (``duration``);
        its jobs run on the three others."""
        require(adapter, "durable")
        require(adapter, "concurrency_limits")
        self.require_reaper(adapter)
        self._limited_run(adapter, workers, TwoPerKeyBrieflyJob, kill=True)

    @pytest.mark.slow
    def test_eight_producer_processes_enqueue_a_unique_job_once(
        self, adapter: QueueAdapter, workers: WorkerHarness
    ) -> None:
        require(adapter, "durable")
        require(adapter, "unique")
        inspector = require_inspector(adapter)
        key, go = f"race-{uuid.uuid4().hex[:8]}", workers.folder / "go"
        journal = str(workers.folder / "unique.jsonl")
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
        paths = [*workers.pythonpath, *filter(None, [env.get("PYTHONPATH")])]
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(paths)
        command = [sys.executable, "-c", PRODUCER, journal, key, str(go)]
        pipe = subprocess.PIPE
        producers = [
            subprocess.Popen(
                [*command, f"ready-{n}"], cwd=workers.folder, env=env, stdout=pipe, stderr=pipe
            )
            for n in range(8)
        ]
        try:
            wait_until(lambda: len(list(workers.folder.glob("ready-*"))) == 8, 60,
                       "8 producers to connect")  # fmt: skip
            go.touch()
            answers = []
            for proc in producers:
                out, err = proc.communicate(timeout=60)
                assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
                answers.append(json.loads(out.decode().strip().splitlines()[-1]))
        finally:
            for proc in producers:
                if proc.poll() is None:
                    proc.kill()
        assert sorted(a["enqueued"] for a in answers) == [False] * 7 + [True], answers
        assert {a["error"] for a in answers if not a["enqueued"]} == {"DuplicateJobError"}
        ready = [info for info in inspector.jobs("ready", limit=100)
                 if info.job_class and info.job_class.endswith("UniqueJob")]  # fmt: skip
        assert [info.job_id for info in ready] == [a["job_id"] for a in answers if a["enqueued"]]

    @pytest.mark.slow
    def test_three_hundred_jobs_at_fifty_a_second_take_six_seconds(
        self, adapter: QueueAdapter, workers: WorkerHarness
    ) -> None:
        """Evenly spaced starts, one every 20 ms: 300 take about 6 s (at least 5.5 s), whatever
        the workers' threads, and no throttled start counts as a failure. The upper bound only
        catches a limiter that holds jobs back far longer than the rate asks: 300 no-op jobs on two
        worker processes took 8.1-9.6 s on this 2-core machine at load averages of 6-13, so 12 s."""
        require(adapter, "durable")
        require(adapter, "rate_limits")
        inspector = require_inspector(adapter)
        journal = str(workers.folder / "rated.jsonl")
        key = f"api-{uuid.uuid4().hex[:8]}"
        for _ in range(2):
            workers.start(*QUIET, concurrency=THREADS, imports=[MODULE])
        jobs = [FiftyPerSecondJob(journal, key) for _ in range(300)]
        began = time.time()
        assert jobframe.perform_all_later(jobs) == 300
        wait_until(lambda: len(read(journal)) >= 300, 30, "300 rate-limited jobs to run")
        took = max(line["end"] for line in read(journal)) - began
        workers.check_alive()
        assert Counter(line["job_id"] for line in read(journal)) == {j.job_id: 1 for j in jobs}
        assert 5.5 <= took <= 12.0, f"300 jobs at 50/second took {took:.2f}s, not 5.5-12 s"
        assert inspector.count("dead") == 0
        if tells(inspector, "counts_outcomes"):
            assert inspector.stats().get("failed", 0) == 0
            assert sum(inspector.history("throttled").values()) > 0, "no start was throttled"


@contextmanager
def _nothing() -> Iterator[dict[str, int]]:
    yield {}


#: One producer process: connect, say so, wait for the go file, enqueue, print what happened.
PRODUCER = """
import json, pathlib, sys, time
from jobframe import queue_adapters
from jobframe.testing.conformance_jobs import UniqueJob
journal, key, go, ready = sys.argv[1:5]
queue_adapters.get()
pathlib.Path(ready).touch()
deadline = time.monotonic() + 60
while not pathlib.Path(go).exists() and time.monotonic() < deadline:
    time.sleep(0.001)  # the test process creates the file: all eight start within a millisecond
job = UniqueJob.perform_later(journal, key)
error = type(job.enqueue_error).__name__ if job.enqueue_error else None
print(json.dumps({"enqueued": job.successfully_enqueued, "error": error, "job_id": job.job_id}))
"""

__all__ = ["FlowProcessTests", "most_at_once"]
