"""Chains (`jobframe.chain`, DESIGN.md 6.4): links run in order, each after the previous one
succeeded, read their predecessor's result with ``previous_result()``, and a link that ends for
good without succeeding leaves the links after it ``cancelled``, never run: also when the
backend ends the link itself (a waiting link cancelled, discarded or cleared, a poison pill the
reaper sends dead).

Gated by ``Capabilities.chains``; runs with the suite's in-process worker (`active`), or the
adapter's own way of running jobs (``drain``)."""

from __future__ import annotations

import time

import pytest

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.payload import dump_payload
from jobframe.backend.worker import ProcessInfo
from jobframe.testing.batch_jobs import BatchCallbackJob, LinkJob, StoredLinkJob
from jobframe.testing.conformance.base import (
    ConformanceBase,
    require,
    require_inspector,
    require_worker_backend,
)
from jobframe.testing.conformance.batches import callbacks_run, failing
from jobframe.testing.conformance_jobs import ExpiringJob, read
from jobframe.testing.workers import wait_until, worker_thread


class ChainTests(ConformanceBase):
    def test_links_run_in_order_and_read_the_previous_result(
        self, active: QueueAdapter, journal: str
    ) -> None:
        require(active, "chains")
        chain = jobframe.chain(
            LinkJob(journal, "a", {"n": 1}),
            LinkJob(journal, "b", [2]),
            StoredLinkJob(journal, "c", 3),
        )
        assert isinstance(chain, jobframe.Chain)
        jobs = chain.perform_later()
        assert [job.job_id for job in jobs] == chain.ids and len(set(chain.ids)) == 3
        self.drain(active, lambda: len(read(journal)) >= 3, self.wait_timeout)
        wait_until(lambda: jobs[-1].status() == "succeeded", self.wait_timeout, "the last link")
        assert jobs[-1].result() == 3
        lines = read(journal)
        assert [e["tag"] for e in lines] == ["a", "b", "c"]
        assert [e["index"] for e in lines] == [0, 1, 2]
        assert [e["previous"] for e in lines] == [None, {"n": 1}, [2]]
        assert [e["job_id"] for e in lines] == chain.ids
        assert [job.status() for job in jobs] == ["succeeded"] * 3

    def test_a_failing_link_cancels_the_rest(self, active: QueueAdapter, journal: str) -> None:
        require(active, "chains")
        chain = jobframe.chain(
            LinkJob(journal, "a", 1),
            LinkJob(journal, "b", fail=True),
            LinkJob(journal, "c"),
            LinkJob(journal, "d"),
        )
        failing(active, chain.perform_later)
        jobs = chain.jobs
        self.drain(active, lambda: len(read(journal)) >= 2, self.wait_timeout)
        wait_until(lambda: jobs[3].status() == "cancelled", self.wait_timeout,
                   "the last link to be cancelled")  # fmt: skip
        assert [job.status() for job in jobs] == ["succeeded", "failed", "cancelled", "cancelled"]
        assert [e["tag"] for e in read(journal)] == ["a", "b"]
        with_error = jobframe.job_report(jobs[2].job_id)
        assert with_error.status == "cancelled"

    def test_a_chain_in_a_batch_counts_its_links(self, active: QueueAdapter, journal: str) -> None:
        require(active, "chains")
        require(active, "batches")
        with jobframe.batch(on_complete=BatchCallbackJob(journal, "on_complete")) as batch:
            jobframe.chain(LinkJob(journal, "a"), LinkJob(journal, "b")).perform_later()
        self.drain(active, lambda: callbacks_run(journal)["on_complete"] == 1, self.wait_timeout)
        assert [e["tag"] for e in read(journal)] == ["a", "b", "callback:on_complete"]
        info = jobframe.batch_status(batch.id)
        assert info is not None and (info.total, info.succeeded) == (2, 2)

    # A link the backend ends itself: the links after it are recorded in that same step.

    def test_a_cancelled_waiting_chain_link_cancels_the_rest(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "chains")
        require(quiet, "cancel")
        require(quiet, "results")
        inspector = require_inspector(quiet)
        jobs = _three(journal).perform_later()
        assert inspector.cancel(jobs[0].job_id) == "cancelled"
        assert [job.status() for job in jobs] == ["cancelled"] * 3
        _broken_by(jobs, "cancelled")

    def test_a_discarded_waiting_chain_link_cancels_the_rest(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "chains")
        require(quiet, "results")
        inspector = require_inspector(quiet)
        jobs = _three(journal).perform_later()
        assert inspector.discard([str(jobs[0].provider_job_id)], state="ready") == 1
        assert [job.status() for job in jobs[1:]] == ["cancelled"] * 2
        _broken_by(jobs, "discarded")

    def test_a_cleared_waiting_chain_link_cancels_the_rest(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "chains")
        require(quiet, "results")
        inspector = require_inspector(quiet)
        jobs = _three(journal, queue="chain-cleared").perform_later()
        assert inspector.clear("chain-cleared") == 1
        assert [job.status() for job in jobs[1:]] == ["cancelled"] * 2
        _broken_by(jobs, "discarded")

    def test_a_poison_pill_chain_link_cancels_the_rest(
        self, quiet: QueueAdapter, journal: str
    ) -> None:
        require(quiet, "chains")
        require(quiet, "results")
        self.require_reaper(quiet)
        backend = require_worker_backend(quiet)
        jobs = _three(journal).perform_later()
        backend.register(ProcessInfo("p-chain-pill", ["*"], 1))
        wait_until(lambda: backend.fetch("p-chain-pill", ["*"], 1, 0.2), 10, "the first link")
        wait_until(lambda: backend.maintain(0.05, 1).get("dead"), 10, "the reaper")
        assert [job.status() for job in jobs] == ["dead", "cancelled", "cancelled"]
        _broken_by(jobs, "dead")

    def test_an_expired_chain_link_cancels_the_rest(
        self, adapter: QueueAdapter, journal: str
    ) -> None:
        require(adapter, "chains")
        require(adapter, "results")
        require(adapter, "expiry")
        backend = require_worker_backend(adapter)
        with jobframe.queue_adapters.override(adapter):
            jobs = jobframe.chain(
                ExpiringJob(journal, "a"), LinkJob(journal, "b"), StoredLinkJob(journal, "c")
            ).perform_later()
            time.sleep(0.4)  # past ExpiringJob.expires_in (0.3 s), before any worker runs
            with worker_thread(backend, self.worker_options()):
                wait_until(lambda: jobs[0].status() == "discarded", self.wait_timeout, "expired")
            assert [job.status() for job in jobs] == ["discarded", "cancelled", "cancelled"]
            _broken_by(jobs, "discarded")
            assert read(journal) == []

    def test_an_unloadable_chain_link_cancels_the_rest(
        self, active: QueueAdapter, journal: str
    ) -> None:
        """A first link no worker can load (its class is unknown there) is ``dead``, and stops
        its chain as one that ran and failed does."""
        require(active, "chains")
        require(active, "results")
        require(active, "raw_payloads")
        require_worker_backend(active)  # a worker finds it unloadable
        chain = _three(journal)
        first = {**chain._link().serialize(), "job_class": "nowhere.Missing"}
        active.enqueue_raw("default", dump_payload(first))
        jobs = chain.jobs
        self.drain(active, lambda: jobs[2].status() == "cancelled", self.wait_timeout)
        assert [job.status() for job in jobs] == ["dead", "cancelled", "cancelled"]
        _broken_by(jobs, "dead")
        assert read(journal) == []


def _three(journal: str, queue: str | None = None) -> jobframe.Chain:
    links = [LinkJob(journal, "a"), LinkJob(journal, "b"), StoredLinkJob(journal, "c")]
    if queue is not None:
        for link in links:
            link.queue_name = queue
    return jobframe.chain(*links)


def _broken_by(jobs: list[jobframe.Job], ended: str) -> None:
    """The links after the first are recorded as a broken chain, naming how the first ended;
    waiting on the last one's result ends at once."""
    for job in jobs[1:]:
        report = jobframe.job_report(job.job_id)
        assert report.status == "cancelled" and report.error is not None
        assert report.error["class"] == "jobframe.ChainBroken"
        assert report.error["reason"] == "chain broken"
        assert jobs[0].job_id in report.error["message"] and ended in report.error["message"]
    with pytest.raises(jobframe.JobFailed) as caught:
        jobs[-1].result(timeout=5)
    assert caught.value.status == "cancelled"
