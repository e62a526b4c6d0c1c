"""The dashboard on the RabbitMQ inspector: every page renders, the actions act on the broker, and
what RabbitMQ cannot do answers 501 with the reason."""

from __future__ import annotations

import re
from datetime import timedelta

from jobframe_rabbitmq.adapter import RabbitMQAdapter
from rabbitmq_jobs import RecordJob
from starlette.testclient import TestClient
from test_inspector_rabbitmq import bury

from jobframe.dashboard import Auth, create_app

TOKEN = "r" * 32


def test_every_page_renders_and_the_actions_work(adapter: RabbitMQAdapter) -> None:
    inspector = adapter.inspector()
    client = TestClient(
        create_app(inspector, Auth(token=TOKEN)), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    waiting = RecordJob.set(queue="pages").perform_later("j", "<b>waiting</b>")
    later = RecordJob.set(wait=timedelta(hours=1)).perform_later("j", "later")
    dead = [RecordJob("j", f"dead-{i}").set(queue="pages") for i in range(3)]
    for job in dead:
        bury(adapter, job, "it broke <here>")
    pages = {
        "/": "Processed and failed jobs are not recorded by this backend",
        "/queues": "pages",
        "/jobs/ready": "&lt;b&gt;waiting&lt;/b&gt;",
        "/jobs/ready?queue=pages&page=1": str(waiting.provider_job_id),
        "/jobs/ready?class=RecordJob": str(waiting.provider_job_id),
        "/jobs/scheduled": str(later.provider_job_id),
        "/jobs/running": "Running jobs are not recorded by this backend",
        "/jobs/dead": "it broke &lt;here&gt;",
        f"/jobs/dead?id={dead[0].provider_job_id}": str(dead[0].provider_job_id),
        f"/job/{dead[0].provider_job_id}": "Traceback...",
        f"/job/{waiting.provider_job_id}": "waiting",
        f"/job/{later.provider_job_id}": "scheduled",
        "/workers": "Workers and the jobs they run are not recorded by this backend",
    }
    for path, shown in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert shown in response.text, path
    assert client.get("/job/nothing-like-it").status_code == 404
    overview = client.get("/").text
    assert 'data-count="running"' not in overview, "running jobs shown as a count of 0"
    assert "per minute" not in overview, "empty charts of outcomes nobody counts"
    assert "No live workers" not in client.get("/workers").text
    summary = client.get("/api/summary").json()
    counts = {"ready": 1, "scheduled": 1, "running": 0, "dead": 3, "blocked": 0}
    assert summary == {"counts": counts, "stats": {}}

    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/jobs/dead").text)
    assert match
    csrf = match.group(1)
    posted = client.post(f"/job/{dead[0].provider_job_id}/retry", data={"csrf": csrf})
    assert posted.status_code == 200  # followed the redirect back to the page
    client.post(f"/job/{dead[1].provider_job_id}/discard", data={"csrf": csrf, "state": "dead"})
    assert inspector.count("dead") == 1 and inspector.count("ready", "pages") == 2
    client.post("/jobs/dead/bulk", data={"csrf": csrf, "action": "retry", "all": "1"})
    client.post("/jobs/scheduled/bulk", data={"csrf": csrf, "action": "run_now", "all": "1"})
    assert inspector.count("dead") == 0 and inspector.count("scheduled") == 0
    assert inspector.count("ready") == 4

    refused = client.post("/queues/pause", data={"csrf": csrf, "queue": "pages"})
    assert refused.status_code == 501 and "cannot pause a queue" in refused.text
    assert "default-src 'none'" in refused.headers["content-security-policy"]
    scripted = client.post(
        "/queues/pages/pause", data={"csrf": csrf}, headers={"Accept": "application/json"}
    )
    assert scripted.status_code == 501 and "Stop the workers" in scripted.json()["error"]
    cleared = client.post(
        "/queues/clear",
        data={"csrf": csrf, "queue": "pages"},
        headers={"Accept": "application/json"},
    )
    assert cleared.json() == {"ok": True, "queue": "pages", "cleared": 3}
    assert inspector.count("ready") == 1
