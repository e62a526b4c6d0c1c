"""Concurrent producers: `perform_later` from many threads (and `aperform_later` from many
coroutines) shares pipelined round trips, and every caller still gets its own acknowledgement or
its own `EnqueueError`. Round trips are counted on the adapter's connection; the first one is held
until the other callers have queued behind it, so the batch a test expects is certain to form."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import redis

import jobframe
from jobframe.errors import DuplicateJobError, EnqueueError
from jobframe.testing.workers import wait_until
from jobframe_redis.adapter import RedisAdapter

THREADS = 16


class ProducedJob(jobframe.Job):
    queue_as = "produced"

    def perform(self, n: int) -> None:
        pass


def jobs_in(commands: list[bytes]) -> int:
    """How many jobs ENQUEUE or ENQUEUE_EACH commands carry: seven arguments each, after
    EVALSHA, the sha, the key count, eight keys, the stem and the time."""
    return sum((int(command[1 : command.index(b"\r\n")]) - 13) // 7 for command in commands)


def count_round_trips(adapter: RedisAdapter, hold_for: int = 0) -> list[int]:
    """The number of jobs of every enqueue round trip from now on; with ``hold_for``, the first
    one waits until that many callers have queued behind it."""
    store = adapter.store
    assert store.wire is not None
    pipeline = store.wire.pipeline
    sizes: list[int] = []

    def counted(commands: list[bytes]) -> list[Any]:
        if hold_for and not sizes:
            wait_until(lambda: store._producers.queued >= hold_for, 10, f"{hold_for} callers")
        sizes.append(jobs_in(commands))
        return pipeline(commands)

    store.wire.pipeline = counted  # type: ignore[method-assign]
    return sizes


def in_threads(n: int, target: Callable[[int], Any]) -> list[Any]:
    """``target(i)`` in ``n`` threads at once; each one's result, or the exception it raised."""
    results: list[Any] = [None] * n
    start = threading.Barrier(n)

    def run(i: int) -> None:
        start.wait(10)
        try:
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    return results


def stored(adapter: RedisAdapter, job: jobframe.Job) -> bytes | None:
    client: Any = adapter.store.client
    payload: bytes | None = client.hget(adapter.store.keys.jobs, job.provider_job_id)
    return payload


def test_each_thread_gets_its_own_acknowledgement(adapter: RedisAdapter) -> None:
    ProducedJob.perform_later(-1)  # connected, script loaded
    sizes = count_round_trips(adapter, hold_for=THREADS - 1)
    jobs = in_threads(THREADS, lambda i: ProducedJob.perform_later(i))
    assert all(isinstance(job, ProducedJob) and job.successfully_enqueued for job in jobs)
    assert len({job.provider_job_id for job in jobs}) == THREADS
    for i, job in enumerate(jobs):
        payload = stored(adapter, job)
        assert payload is not None and job.job_id.encode() in payload
        assert b'"arguments":[%d]' % i in payload
    # one caller went alone, the fifteen that came meanwhile shared the next round trip
    assert sizes == [1, THREADS - 1]
    assert adapter.inspector().count("ready") == THREADS + 1


def test_a_lone_caller_sends_at_once_alone(adapter: RedisAdapter) -> None:
    sizes = count_round_trips(adapter)
    for n in range(3):
        assert ProducedJob.perform_later(n).successfully_enqueued
    assert sizes == [1, 1, 1]


def test_an_entry_the_script_refuses_fails_only_its_caller(adapter: RedisAdapter) -> None:
    ProducedJob.perform_later(-1)
    sizes = count_round_trips(adapter, hold_for=THREADS - 1)
    # a unique lock whose expiry is not a number: ENQUEUE fails on it with a script error
    bad = b'{"job_id":"bad-1","flow":{"unique":{"key":"k","expires_at":"soon"}}}'

    def produce(i: int) -> Any:
        if i == 7:
            return adapter.enqueue_raw("produced", bad)
        return ProducedJob.perform_later(i)

    results = in_threads(THREADS, produce)
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(failed) == 1 and isinstance(failed[0], EnqueueError)
    assert "did not take the job" in str(failed[0])
    good = [r for r in results if isinstance(r, ProducedJob)]
    assert len(good) == THREADS - 1 and all(job.successfully_enqueued for job in good)
    assert all(stored(adapter, job) is not None for job in good)
    assert sizes == [1, THREADS - 1]  # the refused entry rode in the same pipeline
    assert adapter.inspector().count("ready") == THREADS  # 15 + the first


def test_a_lost_connection_fails_the_callers_of_its_round_trip_only(
    adapter: RedisAdapter,
) -> None:
    store = adapter.store
    assert store.wire is not None
    wire = store.wire
    ProducedJob.perform_later(-1)
    pipeline = wire.pipeline
    sizes: list[int] = []
    port = wire.options["port"]

    def failing_second(commands: list[bytes]) -> list[Any]:
        sizes.append(jobs_in(commands))
        if len(sizes) == 1:
            wait_until(lambda: store._producers.queued >= THREADS - 1, 10, "queued callers")
            replies = pipeline(commands)
            wire.close()  # the next round trip must connect anew, to a port nobody answers on
            wire.options["port"] = 1
            return replies
        try:
            return pipeline(commands)
        finally:
            wire.options["port"] = port

    wire.pipeline = failing_second  # type: ignore[method-assign]
    results = in_threads(THREADS, lambda i: ProducedJob.perform_later(i))
    ok = [r for r in results if isinstance(r, ProducedJob)]
    failed = [r for r in results if isinstance(r, Exception)]
    assert sizes == [1, THREADS - 1]
    assert len(ok) == 1 and ok[0].successfully_enqueued  # the first, alone, before the loss
    assert len(failed) == THREADS - 1 and all(isinstance(e, EnqueueError) for e in failed)
    assert all("127.0.0.1" in str(e) or "connect" in str(e) for e in failed)
    assert len({id(e) for e in failed}) == THREADS - 1  # each caller raised its own
    assert all(isinstance(e.__cause__, redis.ConnectionError) for e in failed)
    assert ProducedJob.perform_later(99).successfully_enqueued  # and the next one goes through
    assert adapter.inspector().count("ready") == 3


def test_coroutines_each_get_their_own_acknowledgement(adapter: RedisAdapter) -> None:
    ProducedJob.perform_later(-1)
    sizes = count_round_trips(adapter)

    async def produce() -> list[ProducedJob]:
        return list(await asyncio.gather(*(ProducedJob.aperform_later(i) for i in range(200))))

    jobs = asyncio.run(produce())
    assert all(job.successfully_enqueued for job in jobs)
    assert len({job.provider_job_id for job in jobs}) == 200
    assert all(stored(adapter, job) is not None for job in jobs)
    # the first left alone at once; the 199 that came while it was out went in one pipeline
    assert sizes == [1, 199]
    assert adapter.inspector().count("ready") == 201


@jobframe.unique(key=lambda n: n, on_conflict="raise")
class OncePerNumber(jobframe.Job):
    queue_as = "produced"

    def perform(self, n: int) -> None:
        pass


def test_a_refused_coroutine_fails_alone(adapter: RedisAdapter) -> None:
    OncePerNumber.perform_later(3)  # holds the lock for 3
    sizes = count_round_trips(adapter)

    async def produce() -> list[Any]:
        calls = (OncePerNumber.aperform_later(n % 10) for n in range(10, 30))
        return list(await asyncio.gather(*calls, return_exceptions=True))

    results = asyncio.run(produce())
    refused = [r for r in results if isinstance(r, Exception)]
    # each number is asked for twice: both askers of 3 (held before) are refused; of the other
    # nine numbers the first asker gets the job, the second a DuplicateJobError of its own
    assert len(refused) == 2 + 9 and all(isinstance(e, DuplicateJobError) for e in refused)
    assert len({id(e) for e in refused}) == len(refused)
    done = [r for r in results if isinstance(r, OncePerNumber)]
    assert sorted(job.args[0] for job in done) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert sum(sizes) == 20 and len(sizes) == 2  # the refusals rode in the shared pipeline
    assert adapter.inspector().count("ready") == 10


@pytest.mark.parametrize("threads", [16, 64])
def test_many_threads_coalesce_under_contention(adapter: RedisAdapter, threads: int) -> None:
    ProducedJob.perform_later(-1)
    sizes = count_round_trips(adapter)
    per = 20
    results = in_threads(threads, lambda t: [ProducedJob.perform_later(t * per + i)
                                             for i in range(per)])  # fmt: skip
    jobs = [job for batch in results for job in batch]
    assert len({job.provider_job_id for job in jobs}) == threads * per
    assert sum(sizes) == threads * per and max(sizes) > 1
    assert adapter.inspector().count("ready") == threads * per + 1


def test_a_forked_child_does_not_wait_for_its_parents_round_trip(adapter: RedisAdapter) -> None:
    producers = adapter.store._producers
    # what a fork leaves in the child when it happens while a round trip is out: a flush "in
    # flight" that no thread of the child will ever finish, the mutex perhaps still held
    producers._mutex.acquire()
    producers._queued = []
    producers._generation = -1  # the state is the parent's (a fork since)
    assert ProducedJob.perform_later(1).successfully_enqueued
    assert producers.queued == 0 and not producers._mutex.locked()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_has_its_own_ids_and_connection(adapter: RedisAdapter) -> None:
    # forks are told by `jobframe.backend.forks` (a hook at fork), not by a pid check per call
    store = adapter.store
    assert store.wire is not None
    parents = ProducedJob.perform_later(1)
    assert parents.provider_job_id is not None
    (parent_socket,) = [w.sock.getsockname()[1] for w in store.wire.idle]
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
        pid = os.fork()
    if pid == 0:  # the child: report, and leave without running the parent's teardown
        code = 1
        try:
            job = ProducedJob.perform_later(2)
            sockets = [w.sock.getsockname()[1] for w in store.wire.idle]
            os.write(write_end, json.dumps([job.provider_job_id, sockets]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reading:
        report = reading.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    childs, sockets = json.loads(report)
    assert childs[:12] != parents.provider_job_id[:12]  # a node of its own: no id is shared
    assert len(sockets) == 1 and sockets != [parent_socket]  # a connection of its own
    assert stored(adapter, parents) is not None
    assert adapter.store.client.hget(adapter.store.keys.jobs, childs) is not None
    assert ProducedJob.perform_later(3).successfully_enqueued  # the parent's socket still works


def test_one_script_call_carries_the_batch_and_an_entry_that_fails_stops_only_itself(
    adapter: RedisAdapter,
) -> None:
    store = adapter.store
    assert store.wire is not None
    ProducedJob.perform_later(-1)  # both scripts loaded
    sent: list[list[bytes]] = []
    pipeline = store.wire.pipeline

    def counted(commands: list[bytes]) -> list[Any]:
        sent.append(commands)
        return pipeline(commands)

    store.wire.pipeline = counted  # type: ignore[method-assign]
    bad = b'{"job_id":"bad-2","flow":{"unique":{"key":"k","expires_at":"soon"}}}'
    good = b'{"job_id":"%s"}'
    entries = [("a-1", "produced", 0, 0, good % b"a-1", "a-1", ""),
               ("bad-2", "produced", 0, 0, bad, "bad-2", ""),
               ("c-3", "produced", 0, 0, good % b"c-3", "c-3", "")]  # fmt: skip
    replies = store.enqueue_many(entries)
    assert len(sent) == 1 and len(sent[0]) == 1  # one EVALSHA for the three
    assert replies[0] == 1 and replies[2] == 1
    assert isinstance(replies[1], redis.ResponseError)
    client: Any = store.client
    assert client.hget(store.keys.jobs, "a-1") is not None
    assert client.hget(store.keys.jobs, "c-3") is not None  # the entry after the failed one


def test_a_batch_call_refused_as_a_whole_fails_each_caller_on_its_own(
    adapter: RedisAdapter,
) -> None:
    store = adapter.store
    assert store.wire is not None
    ProducedJob.perform_later(-1)
    pipeline = store.wire.pipeline

    def refused(commands: list[bytes]) -> list[Any]:
        if jobs_in(commands) == 1:
            return pipeline(commands)
        # what Redis answers to a script call it runs none of (maxmemory reached)
        return [redis.ResponseError("OOM command not allowed when used memory > 'maxmemory'.")]

    store.wire.pipeline = refused  # type: ignore[method-assign]
    entries = [(f"j-{i}", "produced", 0, 0, b'{"job_id":"j-%d"}' % i, f"j-{i}", "")
               for i in range(4)]  # fmt: skip
    replies = store.enqueue_many(entries)
    assert all(isinstance(r, redis.ResponseError) and "OOM" in str(r) for r in replies)
    assert len({id(r) for r in replies}) == 4  # each its own
    assert adapter.inspector().count("ready") == 1
