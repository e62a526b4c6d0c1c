"""Every page of the dashboard rendered against the backend's inspector, and its actions, with
Starlette's TestClient (needs the ``jobframe[dashboard]`` extra): the dashboard reads only through
the `Inspector`, so a backend whose inspector keeps the contract gets a working dashboard."""

from __future__ import annotations

import html
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from jobframe import recurrence
from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.inspector import Inspector, State
from jobframe.backend.worker import Outcome, ProcessInfo
from jobframe.job.enqueuing import enqueue_claimed
from jobframe.payload_summary import summarize
from jobframe.testing.conformance.base import (
    ConformanceBase,
    require,
    require_inspector,
    require_worker_backend,
    tells,
)
from jobframe.testing.conformance_jobs import HeldLimitJob, RecordingJob
from jobframe.testing.workers import wait_until

if TYPE_CHECKING:
    from starlette.testclient import TestClient

PAGES = ("/", "/queues", "/workers", "/api/summary", "/jobs/ready", "/jobs/scheduled",
         "/jobs/running", "/jobs/dead", "/jobs/dead?page=2", "/jobs/ready?queue=shown")  # fmt: skip


def _client(inspector: Inspector, browser: bool = False) -> TestClient:
    """A client of the dashboard on ``inspector``: a script holding the token (which posts
    without the CSRF token), or a ``browser`` holding it in a cookie (which must send it)."""
    from starlette.testclient import TestClient

    from jobframe.dashboard import Auth, create_app

    token = secrets.token_urlsafe(24)
    app = create_app(inspector, Auth(token=token))
    if browser:
        return TestClient(app, cookies={"jobframe_token": token})
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


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

    def test_the_dashboard_recurring_page_lists_tasks_and_runs_one_now(
        self, quiet: QueueAdapter
    ) -> None:
        """The page shows a declared task (schedule in words, zone, next run), its last claimed
        tick linked to the job; "run now" needs the CSRF token, then enqueues one job carrying
        the task's name, which the job's page and the listing show."""
        require(quiet, "recurring")
        inspector = require_inspector(quiet)
        # Jobs must stay where enqueueing put them: an adapter that runs its own workers (and
        # its own scheduler, which would catch up on the tick claimed below) gives none.
        require_worker_backend(quiet)
        name = f"dash-{uuid.uuid4().hex[:8]}"
        recurrence.recurring("30 2 * * *", name=name, args=("/dev/null", "recurring"),
                             timezone="Europe/Berlin")(RecordingJob)  # fmt: skip
        try:
            (task,) = [task for task in recurrence.tasks() if task.name == name]
            client = _client(inspector, browser=True)
            page = client.get("/recurring")
            assert page.status_code == 200, page.text
            row = html.unescape(page.text.split(f'data-task="{name}"', 1)[1].split("</tr>")[0])
            for shown in ("30 2 * * *", task.schedule.describe(), "Europe/Berlin", "never"):
                assert shown in row, f"the row of {name} does not show {shown!r}: {row}"
            next_run = task.schedule.next_after(datetime.now(UTC))
            assert next_run.strftime("%Y-%m-%d %H:%M:%S UTC") in row
            assert 'href="/recurring"' in page.text, "no link to the page in the navigation"

            # A tick claimed by a scheduler: the last run, linked to its job while it waits.
            tick = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
            store = recurrence.store_of(quiet)
            claimed = task.job(tick)
            assert enqueue_claimed(claimed, quiet, partial(store.claim, name, tick))
            row = client.get("/recurring").text.split(f'data-task="{name}"', 1)[1]
            row = row.split("</tr>")[0]
            assert "2026-01-05 01:30:00 UTC" in row, row
            assert f'href="/job/{claimed.provider_job_id}">ready</a>' in row, row

            run = f"/recurring/{name}/run"
            assert client.post(run, data={}).status_code == 403
            assert client.post(run, data={"csrf": "forged"}).status_code == 403
            assert inspector.count("ready") == 1, "a refused run now enqueued a job"
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token is not None, "the page has no run now form"
            answer = client.post(run, data={"csrf": token[1]}, follow_redirects=False)
            assert answer.status_code == 303, answer.text
            ready = [info for info in inspector.jobs("ready") if info.id != claimed.provider_job_id]
            assert len(ready) == 1 and summarize(ready[0].raw).recurring_task == name
            assert summarize(ready[0].raw).scheduled_at is None, "a run out of schedule: no tick"
            query = parse_qs(urlsplit(answer.headers["location"]).query)
            assert query == {"ran": [name], "job": [ready[0].id], "job_id": [ready[0].job_id]}
            message = client.get(answer.headers["location"]).text
            assert f'href="/job/{ready[0].id}"' in message and name in message
            assert (
                f'<dd><a href="/recurring">{name}</a></dd>'
                in client.get(f"/job/{ready[0].id}").text
            )
            assert f"recurring: {name}" in client.get("/jobs/ready").text
            assert (
                client.post("/recurring/no-such-task/run", data={"csrf": token[1]}).status_code
                == 404
            )
        finally:
            recurrence.forget(name)

    def test_the_dashboard_cancels_jobs_and_shows_flow_control(self, quiet: QueueAdapter) -> None:
        """Cancel on a waiting job's page (a POST that needs the CSRF token) removes it; on a
        running job's page (where the inspector `sees_workers`) it asks the job to stop; the
        scheduled and blocked lists cancel the selected jobs; the overview shows the cancelled
        jobs' totals and chart (where it `counts_outcomes`) and Blocked in the navigation."""
        require(quiet, "cancel")
        inspector = require_inspector(quiet)
        backend = require_worker_backend(quiet)
        client = _client(inspector, browser=True)
        as_json = {"Accept": "application/json"}
        waiting = RecordingJob.set(queue="shown").perform_later("/dev/null", "<waiting>")
        cancel = f"/job/{waiting.provider_job_id}/cancel"
        page = client.get(f"/job/{waiting.provider_job_id}").text
        assert f'action="{cancel}"' in page, "a waiting job's page has no Cancel button"
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        assert client.post(cancel, data={"state": "ready"}).status_code == 403
        assert client.post(cancel, data={"csrf": "forged"}).status_code == 403
        assert inspector.count("ready") == 1, "a refused cancel removed the job"
        answer = client.post(cancel, data={"csrf": token[1]}, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/jobs/ready")
        assert inspector.count("ready") == 0
        assert inspector.job(waiting.provider_job_id or "") is None
        assert client.post(cancel, data={"csrf": token[1]}).status_code == 404
        cancelled = 1

        running = RecordingJob.set(queue="shown").perform_later("/dev/null", "running")
        backend.register(ProcessInfo("p-cancel", ["*"], 1))
        (held,) = wait_until(lambda: backend.fetch("p-cancel", ["*"], 1, 0.2), 10, "a claim")
        assert held.id == running.provider_job_id
        if tells(inspector, "sees_workers"):
            assert "next checkpoint" in client.get(f"/job/{held.id}").text
            answer = client.post(f"/job/{held.id}/cancel", data={"csrf": token[1]},
                                 headers=as_json)  # fmt: skip
            assert answer.json() == {"ok": True, "action": "cancel", "result": "running",
                                     "count": 1}  # fmt: skip
            assert backend.cancelled("p-cancel", [held.token]) == {held.token}
            backend.complete("p-cancel", [Outcome(held, "cancelled")])
            cancelled += 1
        else:
            backend.complete("p-cancel", [Outcome(held, "done")])
        backend.deregister("p-cancel")

        lists: list[tuple[State, str]] = [("scheduled", "delay"), ("blocked", "concurrency_limits")]
        for state, capability in lists:
            if not getattr(type(quiet).capabilities, capability):
                continue
            ids = self._waiting_in(quiet, state)
            listing = client.get(f"/jobs/{state}").text
            assert 'name="action" value="cancel"' in listing, f"no Cancel in the {state} list"
            form = {"csrf": token[1], "action": "cancel", "id": ids[:1]}
            answer = client.post(f"/jobs/{state}/bulk", data=form, headers=as_json)
            assert answer.json()["count"] == 1 and inspector.count(state) == len(ids) - 1
            cancelled += 1

        overview = client.get("/").text
        assert 'href="/jobs/blocked"' in overview, "Blocked is not in the navigation"
        if tells(inspector, "counts_outcomes"):
            assert sum(inspector.history("cancelled").values()) == cancelled
            assert f'data-flow="cancelled">{cancelled}<' in overview
            assert "cancelled per hour, last day" in overview
            assert "throttled (rate limit: put back, not failed)" in overview

    def _waiting_in(self, adapter: QueueAdapter, state: State) -> list[str]:
        """Two jobs waiting in ``state`` (scheduled, or blocked behind a third, running one)."""
        if state == "scheduled":
            later = RecordingJob.set(wait=timedelta(hours=1))
            return [later.perform_later("/dev/null", f"later {n}").provider_job_id or ""
                    for n in range(2)]  # fmt: skip
        backend = require_worker_backend(adapter)
        key = f"dash-{uuid.uuid4().hex[:8]}"
        for _ in range(3):
            HeldLimitJob.perform_later("/dev/null", key)
        backend.register(ProcessInfo("p-block", ["*"], 3))
        (_running,) = wait_until(lambda: backend.fetch("p-block", ["*"], 3, 0.2), 10, "a claim")
        inspector = require_inspector(adapter)
        wait_until(lambda: inspector.count("blocked") == 2, 10, "two blocked jobs")
        ids = [info.id for info in inspector.jobs("blocked")]
        # the running job stays: settling it would ready a blocked one
        return ids


class DashboardResultsTests(ConformanceBase):
    def test_a_finished_jobs_page_is_found_by_its_job_id(
        self, active: QueueAdapter, journal: str
    ) -> None:
        """A finished job has no backend id left: its page, found by its ``job_id``, shows its
        status and result from the results store, as does the JSON its page polls; with
        ``batches``, the Batches page lists a batch it ran in."""
        from starlette.testclient import TestClient

        from jobframe import batch
        from jobframe.dashboard import Auth, create_app
        from jobframe.testing.results_jobs import ValueJob

        require(active, "results")
        inspector = require_inspector(active)
        token = secrets.token_urlsafe(24)
        app = create_app(inspector, Auth(token=token), adapter=active)
        client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        opened = None
        if type(active).capabilities.batches:
            with batch(description="<conformance & batch>") as opened:
                job = ValueJob.perform_later(journal, {"path": "/exports/<7>.csv"})
        else:
            job = ValueJob.perform_later(journal, {"path": "/exports/<7>.csv"})
        assert job.result(timeout=self.wait_timeout) == {"path": "/exports/<7>.csv"}
        page = client.get(f"/job/{job.job_id}")
        assert page.status_code == 200, page.text
        assert "succeeded" in page.text and "/exports/&lt;7&gt;.csv" in page.text
        live = client.get(f"/api/job/{job.job_id}").json()
        assert (live["status"], live["settled"]) == ("succeeded", True)
        assert client.get(f"/job/{uuid.uuid4()}").status_code == 404
        if opened is not None:
            listed = client.get("/batches").text
            assert opened.id in listed and "&lt;conformance &amp; batch&gt;" in listed
            assert f'href="/batch/{opened.id}"' in page.text
