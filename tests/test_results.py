"""The results core (`jobframe.tracking`, `jobframe.job.results`, `jobframe.worker.recording`)
and the in-process adapters' `MemoryResults`. The backends' side is the conformance suite's
`ResultTests`."""

from __future__ import annotations

import gc
import json
import threading
import time
import weakref
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

import jobframe
from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.backend.payload import dump_payload
from jobframe.backend.results import JobRecord, JobState
from jobframe.backend.worker import Claim, Outcome, ProcessInfo
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.queue_adapters.inline import InlineAdapter
from jobframe.queue_adapters.memory_results import MemoryResults
from jobframe.queue_adapters.memory_store import MemoryStore
from jobframe.queue_adapters.test import TestAdapter
from jobframe.testing.workers import wait_until
from jobframe.tracking import progress as progress_module
from jobframe.tracking import records
from jobframe.tracking.status import status_of
from jobframe.worker.execution import run_sync
from jobframe.worker.recording import Recording, unloadable_record


class Sum(jobframe.Job):
    store_result = True

    def perform(self, a: int, b: int) -> int:
        return a + b


class Plain(jobframe.Job):
    def perform(self) -> str:
        return "not kept"


class Flaky(Exception):
    pass


@jobframe.retry_on(Flaky, wait=0, attempts=3, jitter=0)
class FlakyJob(jobframe.Job):
    store_result = True
    runs = 0

    def perform(self) -> str:
        FlakyJob.runs += 1
        if FlakyJob.runs < 3:
            raise Flaky(f"run {FlakyJob.runs}")
        return "third time"


class Reporter(jobframe.Job):
    store_result = True

    def perform(self, steps: int) -> int:
        for i in range(steps):
            self.progress((i + 1) / steps, f"step {i + 1}")
        return steps


class NoResults(TestAdapter):
    __test__ = False
    name = "noresults"
    capabilities = Capabilities(bulk=True)

    def results(self) -> None:  # type: ignore[override]
        return None


@pytest.fixture
def inline() -> Iterator[InlineAdapter]:
    adapter = InlineAdapter()
    with queue_adapters.override(adapter):
        yield adapter


@pytest.fixture
def test_adapter() -> Iterator[TestAdapter]:
    adapter = TestAdapter()
    with queue_adapters.override(adapter):
        yield adapter


@pytest.fixture
def async_adapter() -> Iterator[AsyncAdapter]:
    adapter = AsyncAdapter(concurrency=2)
    with queue_adapters.override(adapter):
        yield adapter
    adapter.shutdown(timeout=5)


def record(status: Any, **data: Any) -> JobRecord:
    return JobRecord("j", status, records.encode(data), 60)


# -- the status mapping ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("live", "last", "expected"),
    [
        ("running", "retrying", "running"),
        ("scheduled", None, "scheduled"),
        ("scheduled", "retrying", "retrying"),
        ("ready", "retrying", "retrying"),
        ("blocked", None, "ready"),
        ("ready", "failed", "ready"),  # retried from the dead set: it waits again
        ("dead", "failed", "failed"),
        ("dead", "dead", "dead"),
        ("dead", None, "dead"),
        ("dead", "retrying", "dead"),
        (None, "succeeded", "succeeded"),
        (None, "cancelled", "cancelled"),
        (None, None, "unknown"),
    ],
)
def test_the_status_mapping(live: Any, last: Any, expected: str) -> None:
    state = JobState("j", live, record(last) if last else None)
    assert status_of(state) == expected


def test_record_data_is_read_leniently() -> None:
    assert records.decode(b"") == {} and records.decode(b"not json") == {}
    assert records.decode(b"[1]") == {} and records.decode(b'{"a": 1}') == {"a": 1}


# -- the job's options and payload ----------------------------------------------------------


def test_the_payload_carries_result_options_only_when_set() -> None:
    assert "store_result" not in Plain().serialize()
    data = Sum(1, 2).serialize()
    assert (data["store_result"], data["result_ttl"]) == (True, 86400.0)
    chosen = Plain().set(store_result=True, result_ttl=timedelta(minutes=5)).serialize()
    assert (chosen["store_result"], chosen["result_ttl"]) == (True, 300.0)
    back = Plain.deserialize(json.loads(json.dumps(chosen)))
    assert back._stores_result() and back._result_ttl_seconds() == 300.0


@pytest.mark.parametrize(
    "options",
    [{"store_result": "yes"}, {"result_ttl": -1}, {"result_ttl": 0}, {"result_ttl": "1d"}],
)
def test_bad_result_options_fail_at_the_call(options: dict[str, Any]) -> None:
    with pytest.raises(jobframe.InvalidOptionError):
        Plain.set(**options)


def test_a_malformed_result_option_in_a_payload_is_refused() -> None:
    data = Plain().serialize()
    with pytest.raises(jobframe.DeserializationError):
        Plain.deserialize({**data, "result_ttl": "soon"})


def test_an_adapter_without_results_refuses_store_result() -> None:
    with queue_adapters.override(NoResults()):
        with pytest.raises(jobframe.UnsupportedError, match="store_result = False"):
            Sum.perform_later(1, 2)
        Plain.perform_later()  # keeps no result: nothing to refuse
        with pytest.raises(jobframe.UnsupportedError):
            jobframe.job_status("x")
        with pytest.raises(jobframe.UnsupportedError):
            Plain().status()


def test_progress_checks_its_arguments_and_is_a_noop_outside_a_worker() -> None:
    job = Reporter(1)
    job.progress(0.5, "fine")
    for bad in (-0.1, 1.5, float("nan"), True, "0.5"):
        with pytest.raises(jobframe.InvalidOptionError):
            job.progress(bad)
    with pytest.raises(jobframe.InvalidOptionError):
        job.progress(0.5, message=3)  # type: ignore[arg-type]


def test_progress_writes_are_throttled_but_the_last_report_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryResults()
    writes: list[bytes] = []
    monkeypatch.setattr(store, "progress", lambda job_id, data, ttl: writes.append(data))
    tracker = progress_module.Progress(store, "j", 60)
    for i in range(100):
        tracker.report(i / 200, f"row {i}")
    assert len(writes) == 1, "100 reports within 0.25 s made more than one write"
    assert tracker.last is not None and tracker.last["message"] == "row 99"
    tracker.report(1.0, "done")
    assert len(writes) == 2 and json.loads(writes[-1])["progress"]["fraction"] == 1.0


# -- the in-process adapters -------------------------------------------------------------------


def test_inline_keeps_results_and_the_final_record_of_retries(inline: InlineAdapter) -> None:
    job = Sum.perform_later(2, 3)
    assert (job.status(), job.result()) == ("succeeded", 5)
    FlakyJob.runs = 0
    flaky = FlakyJob.perform_later()
    # retries ran nested in the first attempt: the last attempt's record is the one kept
    assert (flaky.status(), flaky.result()) == ("succeeded", "third time")
    assert jobframe.job_report(flaky.job_id).attempts == 3


def test_inline_records_a_failure_and_raises_it(inline: InlineAdapter) -> None:
    class Broken(jobframe.Job):
        store_result = True

        def perform(self) -> None:
            raise KeyError("gone")

    job = Broken()
    with pytest.raises(KeyError):
        job.enqueue()
    assert job.status() == "failed"
    with pytest.raises(jobframe.JobFailed, match="KeyError"):
        job.result()


def test_the_test_adapter_answers_status_and_result(test_adapter: TestAdapter) -> None:
    job = Sum.perform_later(1, 1)
    later = Sum.set(wait=600).perform_later(1, 2)
    assert (job.status(), later.status()) == ("ready", "scheduled")
    with pytest.raises(jobframe.ResultTimeout):
        job.result()
    test_adapter.perform_enqueued(lambda r: r.job_id == job.job_id)
    assert (job.status(), job.result()) == ("succeeded", 2)
    report = jobframe.job_report(job.job_id)
    assert (report.queue, report.has_result, report.result) == ("default", True, 2)
    test_adapter.clear()
    assert job.status() == "unknown"


def test_progress_of_an_inline_job_is_in_its_record(inline: InlineAdapter) -> None:
    job = Reporter.perform_later(3)
    assert jobframe.job_report(job.job_id).progress == (1.0, "step 3")


def test_a_waiter_wakes_when_the_record_is_written() -> None:
    store = MemoryResults()
    woken: list[tuple[JobRecord | None, float]] = []
    waiter = threading.Thread(target=lambda: woken.append((store.wait("j", 10), time.time())))
    waiter.start()
    time.sleep(0.05)  # the waiter is asleep on the condition (or about to be)
    store.write([record("retrying")])
    written_at = time.time()
    store.write([record("succeeded")])
    waiter.join(5)
    assert woken and woken[0][0] is not None and woken[0][0].status == "succeeded"
    assert woken[0][1] - written_at < 0.05
    assert store.wait("missing", 0.01) is None


def test_memory_records_expire() -> None:
    store = MemoryResults()
    store.write([JobRecord("short", "succeeded", b"{}", 0.05), record("succeeded")])
    assert store.status("short").record is not None
    wait_until(lambda: store.status("short").record is None, 5, "the record to expire")
    assert store.status("j").record is not None
    store.write([record("succeeded")])  # writes drop what expired
    assert len(store) == 1


# -- the async adapter's worker -------------------------------------------------------------------


def test_async_jobs_report_retrying_discarded_and_expired(async_adapter: AsyncAdapter) -> None:
    class Gone(Exception):
        pass

    @jobframe.discard_on(Gone)
    class Dropping(jobframe.Job):
        def perform(self) -> None:
            raise Gone("no longer needed")

    job = Dropping.perform_later()
    wait_until(lambda: job.status() == "discarded", 10, "the job to be discarded")
    error = jobframe.job_report(job.job_id).error
    assert error is not None and error["message"] == "no longer needed"
    expired = Plain.set(expires_in=0.01, wait=0.05).perform_later()
    wait_until(lambda: expired.status() == "discarded", 10, "the job to expire")
    assert (jobframe.job_report(expired.job_id).error or {})["reason"] == "expired"


def test_the_records_middleware_adds_a_record_to_each_outcome() -> None:
    job = Sum(1, 2)
    job.perform_now()
    claim = Claim("p", "t", "default", b"{}")
    outcome = Recording().finished(claim, job, Outcome(claim, "done", attempts=1))
    (written,) = outcome.records
    assert (written.job_id, written.status, written.notify) == (job.job_id, "succeeded", True)
    assert records.result_of(records.decode(written.data)) == 3


def test_a_recorded_job_is_freed_without_the_garbage_collector() -> None:
    """No reference cycle per job (collecting one per job cost a worker 3% of its CPU)."""
    job = Sum(1, 2)
    claim = Claim("p", "t", "default", b"{}")
    recording = Recording()
    gc.disable()
    try:
        recording.started(claim, job)  # the job's Progress
        outcome = recording.finished(claim, job, run_sync(claim, job))
        assert outcome.records
        gone = weakref.ref(job)
        del job
        assert gone() is None
    finally:
        gc.enable()


def test_an_unloadable_payload_naming_a_job_id_gets_a_dead_record() -> None:
    claim = Claim("p", "t", "q", json.dumps({"job_id": "abc", "job_class": "Nope"}).encode())
    found = unloadable_record(Outcome(claim, "dead", {"message": "unknown", "reason": "x"}))
    assert found is not None and (found.job_id, found.status) == ("abc", "dead")
    assert unloadable_record(Outcome(Claim("p", "t", "q", b"\xff"), "dead")) is None


def test_a_poison_pill_reaped_by_the_memory_store_is_dead() -> None:
    store = MemoryStore()
    job = Plain()
    store.add([store.new_entry("e1", "default", None, dump_payload(job.serialize()), None)])
    store.register(ProcessInfo("gone", ["*"], 1))
    assert store.fetch("gone", ["*"], 1, 0.1)
    assert status_of(store.results.status(job.job_id)) == "running"
    store.maintain(heartbeat_timeout=-1, max_crashes=1)
    assert status_of(store.results.status(job.job_id)) == "dead"


def test_adapters_declare_results_exactly_when_they_give_a_store() -> None:
    adapters: list[QueueAdapter] = [InlineAdapter(), TestAdapter(), NoResults()]
    for adapter in adapters:
        assert (adapter.results() is not None) == adapter.capabilities.results


def test_a_job_run_again_is_not_answered_by_its_old_record(test_adapter: TestAdapter) -> None:
    """Retried from the dead set, a job waits again beside its old ``failed`` record."""
    job = Sum.perform_later(4, 4)
    old = records.build(job.job_id, "failed", error={"class": "E", "message": "old"})
    test_adapter.results().write([old])
    assert job.status() == "ready"
    with pytest.raises(jobframe.ResultTimeout):
        job.result()
    started = time.monotonic()
    with pytest.raises(jobframe.ResultTimeout):
        job.result(timeout=0.3)
    assert time.monotonic() - started >= 0.3
    test_adapter.perform_enqueued(lambda r: True)
    assert job.result(timeout=1) == 8


def test_the_memory_store_finds_a_job_by_id_wherever_it_is() -> None:
    """Its index by job_id follows each entry: waiting, claimed, dead, retried, discarded."""
    adapter = AsyncAdapter(autostart=False, keep_failed=1)
    store, inspector = adapter.store, adapter.inspector()
    try:
        with queue_adapters.override(adapter):
            first, second = Plain.perform_later(), Plain.perform_later()
        live = store.results.status
        assert (live(first.job_id).state, live(second.job_id).state) == ("ready", "ready")
        store.register(ProcessInfo("p", ["*"], 2))
        claims = store.fetch("p", ["*"], 2, 0.1)
        assert live(first.job_id).state == "running"
        store.complete("p", [Outcome(c, "failed", {"message": "x"}) for c in claims])
        # keep_failed=1: the older dead job is dropped from the dead set, and from the index
        assert {live(first.job_id).state, live(second.job_id).state} == {None, "dead"}
        kept = first if live(first.job_id).state == "dead" else second
        assert inspector.retry(all=True) == 1 and live(kept.job_id).state == "ready"
        assert inspector.discard(all=True, state="ready") == 1
        assert live(kept.job_id).state is None and not store.by_job
    finally:
        adapter.shutdown(timeout=1)


def test_history_ttl_zero_keeps_records_only_where_something_reads_them(
    async_adapter: AsyncAdapter,
) -> None:
    jobframe.configure(history_ttl=0)
    plain = Plain.perform_later()
    summed = Sum.perform_later(2, 3)
    with jobframe.batch() as batch:
        in_batch = Plain.perform_later()
    assert summed.result(timeout=10) == 5
    wait_until(lambda: batch.succeeded == 1, 10, "the batch's job to be counted")
    inspector = async_adapter.inspector()
    wait_until(lambda: inspector.pending() == 0, 10, "every job to finish")
    assert plain.status() == "unknown"  # no history kept for it
    assert in_batch.status() == "succeeded"  # its batch reads it
    assert records.ttl_of(in_batch) == records.LINKED_TTL
