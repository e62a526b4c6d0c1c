"""Reliability under load with several worker processes: bulk throughput, scheduled promotion by
many workers at once, and a seeded chaos run that SIGKILLs and restarts workers at random."""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

from reliability_support import (  # noqa: F401 (fixtures)
    QUIET,
    Journal,
    Workers,
    counts,
    journal_fixture,
    wait_until,
    workdir_fixture,
    workers_fixture,
)

import jobframe
from jobframe.testing.reliability_jobs import ChaosJob, RecordJob
from jobframe_redis.adapter import RedisAdapter

pytestmark = pytest.mark.slow


def _enqueue_in_chunks(jobs: list[Any], chunk: int = 2500) -> None:
    for start in range(0, len(jobs), chunk):
        assert jobframe.perform_all_later(jobs[start : start + chunk]) == len(
            jobs[start : start + chunk]
        )


def test_bulk_every_job_performed_exactly_once(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    total = 20_000
    jobs = [RecordJob(journal.name, str(i)) for i in range(total)]
    _enqueue_in_chunks(jobs)
    assert counts(adapter)["ready"] == total
    for _ in range(4):
        workers.start(*QUIET, concurrency=8)
    inspector = adapter.inspector()
    wait_until(lambda: inspector.stats()["processed"] >= total, 150, "20,000 jobs to be processed")
    wait_until(lambda: counts(adapter)["running"] == 0, 10, "the last claims to be acknowledged")
    ended = journal.ended()
    assert len(ended) == total and set(ended) == {job.job_id for job in jobs}
    duplicates = {job_id: n for job_id, n in ended.items() if n != 1}
    assert not duplicates, f"{len(duplicates)} jobs ran more than once"
    assert inspector.stats() == {"processed": total, "failed": 0}
    assert len({line["pid"] for line in journal.lines()}) == 4, "not every worker took part"
    assert counts(adapter) == {"ready": 0, "scheduled": 0, "running": 0, "dead": 0}


def test_scheduled_jobs_promoted_once_by_many_workers(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    for _ in range(4):
        workers.start(*QUIET, concurrency=4)
    wait_until(lambda: len(adapter.inspector().workers()) == 4, 15, "4 registered workers")
    jobs = [RecordJob(journal.name, str(i)) for i in range(500)]
    enqueued_at = time.time()
    assert RecordJob.set(wait=1).perform_all_later(jobs) == 500
    assert counts(adapter)["scheduled"] == 500
    wait_until(lambda: len(journal.ended()) >= 500, 30, "500 scheduled jobs to run")
    wait_until(lambda: counts(adapter)["running"] == 0, 10, "the last claims to be acknowledged")
    ended = journal.ended()
    assert set(ended) == {job.job_id for job in jobs}
    assert set(ended.values()) == {1}, "a scheduled job was promoted (and run) more than once"
    assert min(line["t"] for line in journal.lines()) >= enqueued_at + 0.9, "a job ran early"
    assert counts(adapter) == {"ready": 0, "scheduled": 0, "running": 0, "dead": 0}


MAX_CRASHES = 5
RETRY_ATTEMPTS = 3  # ChaosJob's retry_on(attempts=3)


def _check_chaos(journal: Journal, kills: dict[int, float], ids: set[str], seed: int) -> None:
    lines = journal.lines()
    ends = Counter(
        line["job_id"] for line in lines if line["event"] == "end" and not line["failed"]
    )
    lost = ids - set(ends)
    assert not lost, f"seed {seed}: {len(lost)} jobs never ended, e.g. {sorted(lost)[:3]}"

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


def test_chaos_random_sigkills_lose_nothing(
    adapter: RedisAdapter, workers: Workers, journal: Journal
) -> None:
    seed = int(os.environ.get("JOBFRAME_CHAOS_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    args = [*QUIET, "--max-crashes", str(MAX_CRASHES)]
    alive = [workers.start(*args, concurrency=3) for _ in range(3)]
    jobs = [ChaosJob(journal.name, rng.uniform(0.002, 0.02), fail_once=rng.random() < 0.1)
            for _ in range(1500)]  # fmt: skip
    waves = [jobs[i : i + 150] for i in range(0, len(jobs), 150)]

    chaos_until = time.monotonic() + 8
    while time.monotonic() < chaos_until:
        if waves:
            jobframe.perform_all_later(waves.pop(0))
        pause = rng.uniform(0.3, 1.0)
        time.sleep(pause)  # the chaos schedule itself, not a synchronisation
        victim = alive.pop(rng.randrange(len(alive)))
        workers.kill(victim)
        alive.append(workers.start(*args, concurrency=3))
    for wave in waves:
        jobframe.perform_all_later(wave)

    ids = {job.job_id for job in jobs}

    def drained() -> bool:
        ended = {line["job_id"] for line in journal.lines("end") if not line["failed"]}
        return ended >= ids and counts(adapter) == {
            "ready": 0, "scheduled": 0, "running": 0, "dead": 0,
        }  # fmt: skip

    try:
        wait_until(drained, 60, f"the chaos run (seed {seed}) to drain")
    except BaseException:
        print(f"chaos seed {seed}; counts {counts(adapter)}; kills {workers.kills}")
        raise
    _check_chaos(journal, workers.kills, ids, seed)
    assert len(workers.kills) >= 8, f"seed {seed}: only {len(workers.kills)} kills"
