"""Chains (`jobframe.chain`, DESIGN.md 6.4): links run in order, each after the previous one
succeeded, read their predecessor's result with ``previous_result()``, and a link that ends for
good without succeeding leaves the links after it ``cancelled``, never run.

Gated by ``Capabilities.chains``; runs with the suite's in-process worker (`active`), or the
adapter's own way of running jobs (``drain``)."""

from __future__ import annotations

import jobframe
from jobframe.backend.adapter import QueueAdapter
from jobframe.testing.batch_jobs import BatchCallbackJob, LinkJob, StoredLinkJob
from jobframe.testing.conformance.base import ConformanceBase, require
from jobframe.testing.conformance.batches import callbacks_run, failing
from jobframe.testing.conformance_jobs import read
from jobframe.testing.workers import wait_until


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
