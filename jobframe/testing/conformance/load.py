"""Reliability under load with several worker processes: every one of many jobs performed exactly
once, scheduled jobs promoted once however many workers run, and a seeded chaos run that SIGKILLs
and restarts workers at random and loses nothing (``JOBFRAME_CHAOS_SEED`` replays one)."""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import Counter, defaultdict
from typing import Any, ClassVar

import pytest

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.conformance.base import ConformanceBase, counts, idle, tells
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.reliability_jobs import ChaosJob, RecordJob
from jobframe.testing.workers import QUIET, Journal, wait_until

MAX_CRASHES = 5
RETRY_ATTEMPTS = 3  # ChaosJob's retry_on(attempts=3)


def _enqueue_in_chunks(jobs: list[Any], chunk: int = 2000) -> None:
    for start in range(0, len(jobs), chunk):
        part = jobs[start : start + chunk]
        assert jobframe.perform_all_later(part) == len(part)


def check_chaos(
    journal: Journal, kills: dict[int, float], ids: set[str], seed: int, redelivers: bool
) -> None:
    """Nothing lost, no job run twice at once, a success repeated only after its process was
    killed (unless the backend ``redelivers``), and no job run more often than crashes and
    retries allow."""
    lines = journal.lines()
    successes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        if line["event"] == "end" and not line["failed"]:
            successes[line["job_id"]].append(line)
    lost = ids - set(successes)
    assert not lost, f"seed {seed}: {len(lost)} jobs never ended, e.g. {sorted(lost)[:3]}"
    for job_id, done in successes.items():
        unreported = sorted(done, key=lambda x: x["t"])[:-1]
        assert redelivers or all(line["pid"] in kills for line in unreported), (
            f"seed {seed}: job {job_id} succeeded again after a live worker ran it: {done}"
        )
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)  # one stored job: its runs in order
    per_job: Counter[str] = Counter()
    for line in lines:
        if line["event"] == "start":
            runs[line["provider_id"]].append({"start": line["t"], "pid": line["pid"], "end": None})
            per_job[line["job_id"]] += 1
        else:
            run = next(r for r in reversed(runs[line["provider_id"]]) if r["pid"] == line["pid"])
            run["end"] = line["t"]
    for provider_id, history in runs.items():
        history.sort(key=lambda r: r["start"])
        for before, after in itertools.pairwise(history):
            finished = before["end"] if before["end"] is not None else kills.get(before["pid"])
            assert finished is not None and after["start"] >= finished, (
                f"seed {seed}: job {provider_id} ran twice at once: {before} and {after}"
            )
    too_many = {job_id: n for job_id, n in per_job.items() if n > MAX_CRASHES + RETRY_ATTEMPTS}
    assert not too_many, f"seed {seed}: runs beyond the bounds: {too_many}"
    assert max(line["executions"] for line in lines) <= RETRY_ATTEMPTS, f"seed {seed}"


class LoadTests(ConformanceBase):
    #: jobs of the bulk test (4 processes x 8 threads); ``JOBFRAME_LOAD_JOBS`` overrides it
    load_jobs: ClassVar[int] = 20_000

    @pytest.mark.slow
    def test_bulk_every_job_performed_exactly_once(
        self, adapter: QueueAdapter, workers: WorkerHarness
    ) -> None:
        """The runs are counted where the inspector `counts_outcomes`."""
        log = Journal(workers.folder / "bulk.jsonl")
        total = int(os.environ.get("JOBFRAME_LOAD_JOBS", self.load_jobs))
        jobs = [RecordJob(log.name, str(i)) for i in range(total)]
        _enqueue_in_chunks(jobs)
        began = time.monotonic()
        for _ in range(4):
            workers.start(*QUIET, concurrency=8)
        wait_until(lambda: len(log.ended()) >= total, 300, f"{total} jobs to be performed")
        elapsed = time.monotonic() - began
        print(f"{adapter!r}: {total} jobs in {elapsed:.1f}s, {total / elapsed:.0f}/s")
        ended = log.ended()
        assert set(ended) == {job.job_id for job in jobs}
        duplicates = {job_id: n for job_id, n in ended.items() if n != 1}
        assert not duplicates, f"{len(duplicates)} jobs ran more than once"
        # Several processes shared the backlog. Not "all four": a worker that starts slowly on a
        # loaded machine may find a prefetching broker (RabbitMQ) has already handed it all out.
        assert len({line["pid"] for line in log.lines()}) >= 2, "one worker ran every job"
        inspector = adapter.inspector()
        if inspector is not None:
            wait_until(lambda: counts(inspector) == idle(), 15, "the last acknowledgements")
            if tells(inspector, "counts_outcomes"):
                assert inspector.stats() == {"processed": total, "failed": 0}

    @pytest.mark.slow
    def test_scheduled_jobs_promoted_once_by_many_workers(
        self, adapter: QueueAdapter, workers: WorkerHarness
    ) -> None:
        """The runs are counted where the inspector `counts_outcomes`."""
        log = Journal(workers.folder / "scheduled.jsonl")
        for _ in range(4):
            workers.start(*QUIET, concurrency=4)
        jobs = [RecordJob(log.name, str(i)) for i in range(500)]
        enqueued_at = time.time()
        assert RecordJob.set(wait=1).perform_all_later(jobs) == 500
        wait_until(lambda: len(log.ended()) >= 500, 45, "500 scheduled jobs to run")
        ended = log.ended()
        assert set(ended) == {job.job_id for job in jobs}
        assert set(ended.values()) == {1}, "a scheduled job was promoted (and run) more than once"
        assert min(line["t"] for line in log.lines()) >= enqueued_at + 0.9, "a job ran early"
        inspector = adapter.inspector()
        if inspector is not None:
            wait_until(lambda: counts(inspector) == idle(), 15, "the last acknowledgements")
            if tells(inspector, "counts_outcomes"):
                assert inspector.stats() == {"processed": 500, "failed": 0}

    @pytest.mark.slow
    def test_chaos_random_sigkills_lose_nothing(
        self, adapter: QueueAdapter, workers: WorkerHarness
    ) -> None:
        log = Journal(workers.folder / "chaos.jsonl")
        seed = int(os.environ.get("JOBFRAME_CHAOS_SEED", random.randrange(2**32)))
        rng = random.Random(seed)
        args = [*QUIET, "--max-crashes", str(MAX_CRASHES)]
        alive = [workers.start(*args, concurrency=3) for _ in range(3)]
        jobs = [ChaosJob(log.name, rng.uniform(0.002, 0.02), fail_once=rng.random() < 0.1)
                for _ in range(1000)]  # fmt: skip
        waves = [jobs[i : i + 100] for i in range(0, len(jobs), 100)]
        chaos_until = time.monotonic() + 8
        while time.monotonic() < chaos_until:
            if waves:
                jobframe.perform_all_later(waves.pop(0))
            time.sleep(rng.uniform(0.3, 1.0))  # the chaos schedule itself, not a synchronisation
            victim = alive.pop(rng.randrange(len(alive)))
            workers.kill(victim)
            alive.append(workers.start(*args, concurrency=3))
        for wave in waves:
            jobframe.perform_all_later(wave)
        ids = {job.job_id for job in jobs}
        inspector = adapter.inspector()

        def drained() -> bool:
            ended = {line["job_id"] for line in log.lines("end") if not line["failed"]}
            return ended >= ids and (inspector is None or counts(inspector) == idle())

        try:
            wait_until(drained, 90, f"the chaos run (seed {seed}) to drain")
        except BaseException:
            print(f"chaos seed {seed}; kills {workers.kills}")
            raise
        check_chaos(log, workers.kills, ids, seed, self.redelivers)
        assert len(workers.kills) >= 8, f"seed {seed}: only {len(workers.kills)} kills"
