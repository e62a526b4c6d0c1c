"""Chains in the core: building and enqueueing a chain, the payload keys, in-process links on the
test and inline adapters (the worker's part: `jobframe.testing.conformance.chains`)."""

from __future__ import annotations

import pytest

import jobframe
from jobframe.backend.capabilities import Capabilities
from jobframe.errors import InvalidOptionError, NoResultError, UnsupportedError
from jobframe.queue_adapters.test import TestAdapter
from jobframe.testing import JobsHelper
from jobframe.testing.batch_jobs import LinkJob, StoredLinkJob
from jobframe.tracking import job_report


class NoChainsAdapter(TestAdapter):
    __test__ = False
    name = "no-chains"
    capabilities = Capabilities(bulk=True, results=True)


def test_a_chain_needs_distinct_jobs() -> None:
    with pytest.raises(InvalidOptionError, match="at least one"):
        jobframe.chain()
    job = LinkJob("/dev/null", "a")
    with pytest.raises(InvalidOptionError, match="twice"):
        jobframe.chain(job, job)


def test_only_the_first_link_is_enqueued_carrying_the_rest(jobs: JobsHelper) -> None:
    chain = jobframe.chain(LinkJob("/dev/null", "a"), LinkJob("/dev/null", "b"),
                           LinkJob("/dev/null", "c"))  # fmt: skip
    assert repr(chain) == "<jobframe.Chain LinkJob -> LinkJob -> LinkJob>"
    handles = chain.perform_later()
    assert [job.job_id for job in handles] == chain.ids
    [first] = jobs.enqueued_jobs
    payload = first.payload
    assert payload["job_id"] == chain.ids[0]
    assert payload["chain_info"] == {"previous": None, "index": 0, "length": 3, "ids": chain.ids}
    assert [link["job_id"] for link in payload["chain"]] == chain.ids[1:]
    assert [link["chain_info"]["index"] for link in payload["chain"]] == [1, 2]
    assert payload["store_result"] is True, "a link with a successor stores its result"
    assert "chain" not in LinkJob("/dev/null", "x").serialize(), "other payloads are unchanged"


def test_links_run_in_order_on_the_test_adapter(jobs: JobsHelper) -> None:
    handles = jobframe.chain(LinkJob("/dev/null", "a", 1), LinkJob("/dev/null", "b", 2),
                             StoredLinkJob("/dev/null", "c", 3)).perform_later()  # fmt: skip
    assert [h.status() for h in handles] == ["ready", "unknown", "unknown"]
    assert jobs.perform_enqueued_jobs() == 3
    assert [r.args[1] for r in jobs.performed_jobs] == ["a", "b", "c"]
    assert [r.payload["chain_info"]["previous"] for r in jobs.performed_jobs] == [
        None, handles[0].job_id, handles[1].job_id]  # fmt: skip
    assert handles[0].result() == 1 and handles[2].result() == 3
    report = job_report(handles[1].job_id)
    assert report.chain == {"previous": handles[0].job_id, "next": handles[2].job_id,
                            "index": 1, "length": 3}  # fmt: skip


def test_a_failing_link_cancels_the_rest(jobs: JobsHelper) -> None:
    links = [LinkJob("/dev/null", "a"), LinkJob("/dev/null", "b", fail=True),
             LinkJob("/dev/null", "c"), LinkJob("/dev/null", "d")]  # fmt: skip
    handles = jobframe.chain(*links).perform_later()
    with pytest.raises(RuntimeError, match="fails on purpose"):
        jobs.perform_enqueued_jobs()
    assert [h.status() for h in handles] == ["succeeded", "failed", "cancelled", "cancelled"]
    assert jobs.enqueued_jobs == []
    report = job_report(handles[3].job_id)
    assert report.error is not None and report.error["reason"] == "chain broken"
    assert report.chain is not None and report.chain["index"] == 3
    assert report.batch_id is None


def test_previous_result_is_for_links_after_the_first() -> None:
    with pytest.raises(NoResultError, match="previous link"):
        LinkJob("/dev/null", "a").previous_result()


def test_an_adapter_without_chains_is_refused() -> None:
    adapter = NoChainsAdapter()
    with jobframe.queue_adapters.override(adapter), pytest.raises(UnsupportedError, match="chain"):
        jobframe.chain(LinkJob("/dev/null", "a"), LinkJob("/dev/null", "b")).perform_later()
    assert adapter.enqueued_jobs == []


def test_a_chain_on_the_inline_adapter_runs_at_once() -> None:
    from jobframe.queue_adapters.inline import InlineAdapter

    with jobframe.queue_adapters.override(InlineAdapter()):
        handles = jobframe.chain(LinkJob("/dev/null", "a", "x"),
                                 StoredLinkJob("/dev/null", "b", "y")).perform_later()  # fmt: skip
        assert [h.status() for h in handles] == ["succeeded", "succeeded"]
        assert handles[1].result() == "y"


def test_aperform_later_enqueues_the_first_link(jobs: JobsHelper) -> None:
    import asyncio

    chain = jobframe.chain(LinkJob("/dev/null", "a"), LinkJob("/dev/null", "b"))
    handles = asyncio.run(chain.aperform_later())
    assert [r.job_id for r in jobs.enqueued_jobs] == [handles[0].job_id]
    jobs.perform_enqueued_jobs()
    assert [h.status() for h in handles] == ["succeeded", "succeeded"]


def test_a_chain_in_a_batch_counts_each_link_as_it_is_enqueued(jobs: JobsHelper) -> None:
    with jobframe.batch() as batch:
        jobframe.chain(LinkJob("/dev/null", "a"), LinkJob("/dev/null", "b"),
                       LinkJob("/dev/null", "c")).perform_later()  # fmt: skip
    assert batch.total == 1
    jobs.perform_enqueued_jobs()
    info = batch.status()
    assert (info.total, info.succeeded, info.pending, info.fired) == (3, 3, 0, ())
    assert info.finished_at is not None


def test_broken_records_are_built_from_a_stored_payload() -> None:
    """What a backend writes when it ends a link itself: one ``cancelled`` record per later
    link, from the payload alone; nothing for a job with no later link or an unreadable one."""
    from jobframe.backend.payload import dump_payload
    from jobframe.tracking.chains import broken_records
    from jobframe.tracking.records import decode

    chain = jobframe.chain(LinkJob("/dev/null", "a"), LinkJob("/dev/null", "b"),
                           StoredLinkJob("/dev/null", "c"))  # fmt: skip
    first = chain._link().serialize()
    found = broken_records(dump_payload(first), "dead")
    assert [r.job_id for r in found] == chain.ids[1:]
    assert {r.status for r in found} == {"cancelled"} and {r.batch_id for r in found} == {None}
    error = decode(found[0].data)["error"]
    assert error["class"] == "jobframe.ChainBroken" and error["reason"] == "chain broken"
    assert chain.ids[0] in error["message"] and "ended dead" in error["message"]
    # a class this process cannot import (a dashboard): the record still names it
    foreign = {**first, "chain": [{**first["chain"][0], "job_class": "elsewhere.Gone"}]}
    [bare] = broken_records(dump_payload(foreign), "cancelled")
    assert decode(bare.data)["job_class"] == "elsewhere.Gone"
    assert broken_records(dump_payload(chain.jobs[2].serialize()), "dead") == []
    assert broken_records(b'{"chain":[{' + b"[" * 300, "dead") == []
    assert broken_records(None, "dead") == []
