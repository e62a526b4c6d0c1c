"""Every page of the dashboard rendered against the backend's inspector, and its actions, with
Starlette's TestClient (needs the ``jobframe[dashboard]`` extra): the dashboard reads only through
the `Inspector`, so a backend whose inspector keeps the contract gets a working dashboard."""

from __future__ import annotations

import secrets
from datetime import timedelta

from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe.testing.conformance.base import (
    ConformanceBase,
    require_inspector,
    require_worker_backend,
    tells,
)
from jobframe.testing.conformance_jobs import RecordingJob
from jobframe.testing.workers import wait_until

PAGES = ("/", "/queues", "/workers", "/api/summary", "/jobs/ready", "/jobs/scheduled",
         "/jobs/running", "/jobs/dead", "/jobs/dead?page=2", "/jobs/ready?queue=shown")  # fmt: skip


class DashboardTests(ConformanceBase):
    def test_every_dashboard_page_renders_and_acts(self, quiet: QueueAdapter) -> None:
        """A running job's page is checked where the inspector `sees_workers`, the day's counts
        where it `counts_outcomes`."""
        from starlette.testclient import TestClient

        from jobframe.dashboard import Auth, create_app

        inspector = require_inspector(quiet)
        backend = require_worker_backend(quiet)
        token = secrets.token_urlsafe(24)
        client = TestClient(
            create_app(inspector, Auth(token=token)), headers={"Authorization": f"Bearer {token}"}
        )
        # The failing run and the running job belong to two processes, each holding no more
        # than it fetched: a broker that pushes jobs to a consumer with a free slot (RabbitMQ's
        # prefetch) would otherwise hand it the ready job too, out of every inspector's sight.
        doomed = RecordingJob.set(queue="shown").perform_later("/dev/null", "<dead & gone>")
        backend.register(ProcessInfo("p-fail", ["*"], 1))
        (dead,) = wait_until(lambda: backend.fetch("p-fail", ["*"], 1, 0.2), 10, "a claim")
        error = {"class": "ValueError", "message": "<b>boom</b>", "traceback": "Traceback..."}
        backend.complete("p-fail", [Outcome(dead, "failed", error, attempts=1)])
        backend.deregister("p-fail")
        running = RecordingJob.set(queue="shown").perform_later("/dev/null", "running")
        backend.register(ProcessInfo("p-dash", ["*"], 1))
        (held,) = wait_until(lambda: backend.fetch("p-dash", ["*"], 1, 0.2), 10, "a claim")
        assert (dead.id, held.id) == (doomed.provider_job_id, running.provider_job_id)
        ready = RecordingJob.set(queue="shown").perform_later("/dev/null", "ready")
        ids = {"ready": ready.provider_job_id, "dead": doomed.provider_job_id}
        if tells(inspector, "sees_workers"):
            ids["running"] = running.provider_job_id
        if type(quiet).capabilities.delay:
            later = RecordingJob.set(wait=timedelta(hours=1)).perform_later("/dev/null", "later")
            ids["scheduled"] = later.provider_job_id

        for path in [*PAGES, *(f"/job/{id}" for id in ids.values())]:
            response = client.get(path)
            assert response.status_code == 200, f"GET {path}: {response.status_code}"
            assert "<b>boom</b>" not in response.text, f"GET {path} did not escape job data"
        assert "boom" in client.get(f"/job/{ids['dead']}").text
        assert client.get("/job/no-such-job").status_code == 404
        unrecorded = "not recorded by this backend"
        assert (unrecorded in client.get("/workers").text) is not tells(inspector, "sees_workers")
        overview = client.get("/").text
        assert ("per minute" in overview) is tells(inspector, "counts_outcomes")
        assert (unrecorded in overview) is not (
            tells(inspector, "sees_workers") and tells(inspector, "counts_outcomes")
        ), "the overview hides what the backend cannot tell, or claims it cannot tell something"

        if type(quiet).capabilities.pause:
            answer = client.post("/queues/pause", data={"queue": "shown"}, follow_redirects=False)
            assert answer.status_code == 303 and inspector.queues()
            assert {q.name: q.paused for q in inspector.queues()}["shown"]
            client.post("/queues/resume", data={"queue": "shown"})
            assert not {q.name: q.paused for q in inspector.queues()}["shown"]
        answer = client.post(f"/job/{ids['dead']}/retry", data={"state": "dead"},
                             headers={"Accept": "application/json"})  # fmt: skip
        assert answer.json() == {"ok": True, "action": "retry", "count": 1}
        assert inspector.count("dead") == 0
        assert inspector.job(ids["dead"] or "").state == "ready"  # type: ignore[union-attr]
        if "scheduled" in ids:
            answer = client.post("/jobs/scheduled/bulk", data={"action": "discard", "all": "1"},
                                 headers={"Accept": "application/json"})  # fmt: skip
            assert answer.json()["count"] == 1 and inspector.count("scheduled") == 0
        answer = client.post("/queues/clear", data={"queue": "shown"},
                             headers={"Accept": "application/json"})  # fmt: skip
        assert answer.json()["cleared"] == 2 and inspector.count("ready", "shown") == 0
        backend.complete("p-dash", [Outcome(held, "done")])
        backend.deregister("p-dash")
        summary = client.get("/api/summary").json()
        assert summary["counts"]["running"] == 0
        if tells(inspector, "counts_outcomes"):
            processed = {"processed": 2, "failed": 1}
            assert summary["stats"] == processed, "a failure is a processed job too"
        else:
            assert summary["stats"] == {}, "a backend that counts nothing claimed a count"
