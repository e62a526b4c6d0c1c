"""The worker runtime against hostile claims, driven through `MemoryStore`, the in-memory
`WorkerBackend` the async adapter runs on (a real store of the contract, not a mock). Every good
job of a batch runs, every bad claim is reported dead with a reason, and the worker keeps
fetching afterwards (issue #11 item 1: a 1,000-deep payload used to stall it)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import jobframe
from jobframe.backend.payload import dump_payload
from jobframe.backend.worker import Claim, Outcome
from jobframe.queue_adapters.memory_store import MemoryStore
from jobframe.serializers import ObjectSerializer
from jobframe.testing.workers import wait_until, worker_thread
from jobframe.worker import execution
from jobframe.worker.pool import JobPool
from jobframe.worker.runtime import Worker, WorkerOptions

ran: list[str] = []


class Touchy:
    """A type whose registered serializer cannot read its data back."""


class TouchySerializer(ObjectSerializer[Touchy]):
    klass = Touchy
    name = "test.touchy"

    def serialize(self, obj: Touchy) -> Any:
        return "x"

    def deserialize(self, data: Any) -> Touchy:
        raise RuntimeError("this serializer raises on purpose")


class NoteJob(jobframe.Job):
    job_name = "tests.worker.NoteJob"

    def perform(self, tag: str) -> None:
        ran.append(tag)


def good(tag: str) -> bytes:
    return dump_payload(NoteJob(tag).serialize())


def shaped(**fields: Any) -> bytes:
    """A job payload with some fields replaced (wrong types, out of range)."""
    return json.dumps({**NoteJob("x").serialize(), **fields}).encode()


#: claim id -> (payload, the reason its dead outcome must give)
HOSTILE: dict[str, tuple[bytes, str]] = {
    "nested-1000": (b"[" * 1000 + b"]" * 1000, "payload nested too deeply"),
    "nested-objects": (b'{"a":' * 300 + b"1" + b"}" * 300, "payload nested too deeply"),
    "not-utf8": (b"\xff\xfe not json {{{", "undecodable payload"),
    "not-json": (b"{'job_class': 'x'}", "undecodable payload"),
    "empty": (b"", "undecodable payload"),
    "a-list": (b"[1, 2, 3]", "malformed payload"),
    "a-number": (b"5", "malformed payload"),
    "class-is-5": (shaped(job_class=5), "unknown job class"),
    "arguments-object": (shaped(arguments={}), "malformed payload"),
    "executions-text": (shaped(executions="x"), "malformed payload"),
    "counts-list": (shaped(exception_executions=[1]), "malformed payload"),
    "year-one": (shaped(enqueued_at="0001-01-01T00:00:00+14:00"), "malformed payload"),
    "no-version": (json.dumps({"job_class": "tests.worker.NoteJob"}).encode(), "malformed payload"),
    "too-large": (shaped(arguments=["y" * 5000]), "payload too large"),
}


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    ran.clear()
    jobframe.serializers.register(TouchySerializer())
    yield
    jobframe.serializers.unregister(TouchySerializer)
    ran.clear()


@pytest.fixture
def backend() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def worker(backend: MemoryStore) -> Iterator[Worker]:
    options = WorkerOptions(
        queues=["*"], concurrency=3, fetch_timeout=0.2, max_payload_bytes=4096, prefetch=20
    )
    with worker_thread(backend, options) as running:
        yield running


def push(backend: MemoryStore, *claims: tuple[str, bytes]) -> None:
    """Store (id, payload) pairs in one step: one fetch can take them all."""
    backend.add(backend.new_entry(id, "default", None, payload, None) for id, payload in claims)


def dead_error(backend: MemoryStore, id: str) -> dict[str, Any]:
    """The error a dead job was buried with."""
    found = backend.dead[id].error
    assert found is not None, id
    return found


def finished(backend: MemoryStore) -> int:
    """How many jobs ended (done, failed or dead)."""
    with backend.lock:
        return sum(
            n
            for (kind, period), n in backend.counters.items()
            if kind == "processed" and "-" in period
        )


def test_hostile_claims_in_one_batch_are_dead_and_the_good_ones_run(
    backend: MemoryStore, worker: Worker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "jobframe.worker")
    batch = []  # one batch: the hostile claims between good ones
    for index, (id, (payload, _)) in enumerate(HOSTILE.items()):
        batch += [(f"good-{index}", good(f"g{index}")), (id, payload)]
    push(backend, *batch)
    total = 2 * len(HOSTILE)
    wait_until(lambda: finished(backend) == total, 10, "every claim's outcome")

    assert sorted(ran) == sorted(f"g{i}" for i in range(len(HOSTILE)))
    assert set(backend.dead) == set(HOSTILE)
    for id, (_, reason) in HOSTILE.items():
        error = dead_error(backend, id)
        assert error["reason"] == reason, id
        assert error["message"] and error["class"], id
    logged = caplog.text
    assert "nested-1000" in logged and "payload nested too deeply" in logged

    push(backend, ("later", good("later")))  # still alive and fetching
    wait_until(lambda: "later" in ran, 5, "a job enqueued after the hostile batch")


def test_a_serializer_that_raises_fails_that_job_only(backend: MemoryStore, worker: Worker) -> None:
    payload = shaped(arguments=[{"_jf": "test.touchy", "value": "x"}])
    push(backend, ("touchy", payload))
    push(backend, ("after", good("after")))
    wait_until(lambda: finished(backend) == 2, 10, "both outcomes")
    error = dead_error(backend, "touchy")
    assert error["reason"] == "perform raised", "the job failed, its payload was fine"
    assert "raises on purpose" in error["message"]
    assert ran == ["after"]


def test_an_unexpected_error_while_loading_is_that_claims_death(
    backend: MemoryStore, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = execution.load

    def load(claim: Claim, max_bytes: int = 1 << 24) -> Any:
        if claim.id == "buggy":
            raise RuntimeError("a bug in load() itself")
        return real_load(claim, max_bytes)

    monkeypatch.setattr(execution, "load", load)
    push(backend, ("before", good("before")), ("buggy", good("buggy")), ("after", good("after")))
    wait_until(lambda: finished(backend) == 3, 10, "three outcomes")
    assert sorted(ran) == ["after", "before"]
    assert list(backend.dead) == ["buggy"]
    assert dead_error(backend, "buggy")["reason"] == "payload could not be loaded"
    push(backend, ("later", good("later")))
    wait_until(lambda: "later" in ran, 5, "a job after the bug")


def test_a_fetch_that_raises_anything_leaves_no_thread_waiting_forever(
    backend: MemoryStore, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leader whose fetch step raised used to leave the fetch flag set: every other thread
    then waited forever while the process heartbeated on."""
    real = worker._prepare
    calls = {"n": 0}

    def prepare(claims: list[Claim]) -> Any:
        if claims and calls["n"] == 0:
            calls["n"] += 1
            raise KeyError("an error nobody expected")
        return real(claims)

    released: list[Claim] = []
    real_release = backend.release

    def release(process_id: str, claims: list[Claim]) -> None:
        released.extend(claims)
        real_release(process_id, claims)

    monkeypatch.setattr(worker, "_prepare", prepare)
    monkeypatch.setattr(backend, "release", release)
    push(backend, ("first", good("first")))
    wait_until(lambda: calls["n"] == 1, 5, "the failing fetch")
    wait_until(lambda: released, 5, "the failing batch to be released")
    assert [c.id for c in released] == ["first"]
    wait_until(lambda: "first" in ran, 5, "the released job, fetched again")
    push(backend, ("next", good("next")))
    wait_until(lambda: "next" in ran, 5, "the next fetch by any thread")


class ThreadKiller(BaseException):
    """What ``_serve`` does not catch (nothing but a bug raises it): the thread dies."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_job_thread_that_dies_is_replaced_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "jobframe.worker")
    served = threading.Event()
    hand_outs = iter([ThreadKiller("a thread killed by a bug")])

    def next_work() -> tuple[Claim, Any] | None:
        for error in hand_outs:
            raise error
        served.set()
        return None

    pool = JobPool(1, next_work, lambda c, j: Outcome(c, "done"), None, lambda c, o: None)  # type: ignore[arg-type]
    pool.start()
    pool.threads[0].join(5)
    assert not pool.threads[0].is_alive()
    assert pool.revive() == 1
    assert served.wait(5), "the new thread did not take work"
    assert "job thread jobframe-job-0 died" in caplog.text
    pool.threads[0].join(5)
    pool.stop()
    assert pool.revive() == 0, "a stopped pool starts no threads"
