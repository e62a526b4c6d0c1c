"""Data the dashboard did not write: queue names of any characters, page numbers that are not,
lone surrogates and 10 MB arguments. Every page answers, every link and form works."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from dashboard.conftest import store_ready
from fixture_jobs.page_job import PageJob
from starlette.testclient import TestClient

from jobframe.backend.inspector import STATES
from jobframe.dashboard import Auth, create_app

TOKEN = "p" * 32
NAMES = [
    "reports/daily",
    "100%",
    "%2F",
    "what?x=1",
    "a#b",
    "a&b=c+d",
    "with space",
    "..",
    "../..",
    "ünïcødé-队列-🚀",
    "q" * 10_000,
]


@pytest.fixture
def client(adapter: Any) -> TestClient:
    app = create_app(adapter.inspector(), Auth(token=TOKEN))
    return TestClient(app, cookies={"jobframe_token": TOKEN})  # as a browser: CSRF applies


class QueueRows(HTMLParser):
    """The /queues table: per queue (``data-queue``) its links and its forms with their fields."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}
        self.row: dict[str, Any] | None = None
        self.form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and "data-queue" in a:
            self.row = self.rows[a["data-queue"]] = {"links": [], "forms": []}
        elif self.row is None:
            return
        elif tag == "a":
            self.row["links"].append(a["href"])
        elif tag == "form":
            self.form = {"action": a["action"], "fields": {}}
            self.row["forms"].append(self.form)
        elif tag == "input" and self.form is not None:
            self.form["fields"][a["name"]] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.row = None
        elif tag == "form":
            self.form = None


def queue_rows(client: TestClient) -> dict[str, dict[str, Any]]:
    page = client.get("/queues")
    assert page.status_code == 200, page.text
    parser = QueueRows()
    parser.feed(page.text)
    return parser.rows


def paused(adapter: Any, name: str) -> bool:
    (queue,) = [q for q in adapter.inspector().queues() if q.name == name]
    return queue.paused


def test_any_stored_queue_name_works_in_every_page_link_and_form(
    client: TestClient, adapter: Any
) -> None:
    for name in NAMES:
        store_ready(adapter, name, [f"job in {name[:20]}"])
    overview = client.get("/")
    assert overview.status_code == 200
    rows = queue_rows(client)
    assert set(NAMES) <= set(rows), "every queue is listed under its own name"
    links = {link for row in rows.values() for link in row["links"]}
    busiest = re.findall(r'<a href="(/jobs/ready\?queue=[^"]+)">', overview.text)
    assert len(busiest) == 10 and {html.unescape(b) for b in busiest} <= links
    for name in NAMES:
        what = name[:30]
        row = rows[name]
        (link,) = row["links"]
        listing = client.get(link)
        assert listing.status_code == 200, what
        assert f"{PageJob.__name__}" in listing.text and "<small>1</small>" in listing.text, what
        assert f"job in {html.escape(name[:20])}" in listing.text, what
        pause = row["forms"][0]
        assert pause["fields"]["queue"] == name, what
        done = client.post(pause["action"], data=pause["fields"], follow_redirects=False)
        assert done.status_code == 303, (what, done.text)
        assert paused(adapter, name), what
        resume = queue_rows(client)[name]["forms"][0]
        assert resume["action"].endswith("/queues/resume"), what
        client.post(resume["action"], data=resume["fields"], follow_redirects=False)
        assert not paused(adapter, name), what
    for state in STATES:
        assert client.get(f"/jobs/{state}").status_code == 200, state
    clear = queue_rows(client)["reports/daily"]["forms"][1]
    assert client.post(clear["action"], data=clear["fields"]).status_code == 200
    assert adapter.inspector().count("ready", "reports/daily") == 0


def test_a_lone_surrogate_in_stored_data_renders_as_a_replacement(
    client: TestClient, adapter: Any
) -> None:
    id = store_ready(adapter, "pages", ["bad \ud800 text", {"key \udfff": "x"}])
    # the inspector may already show it escaped (\ud800); the page replaces what is left
    shown = ("bad \ufffd text", "bad \\\\ud800 text")  # JSON shows the backslash doubled
    for path in ("/jobs/ready", f"/job/{id}", "/"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert path == "/" or any(text in page.text for text in shown), path


BAD_PAGES = ["abc", "-1", "0", "1.5", "1e3", "\u0663", "9" * 10, "1" * 5000, " 1"]


@pytest.mark.parametrize("state", STATES)
def test_a_page_number_that_is_not_one_gets_400(
    client: TestClient, adapter: Any, state: str
) -> None:
    PageJob.perform_later("x")
    for bad in BAD_PAGES:
        response = client.get(f"/jobs/{state}", params={"page": bad, "queue": "pages"})
        assert response.status_code == 400, (bad[:10], response.text[:200])
        assert "page must be a whole number from 1 to 999999999" in response.text
        assert len(response.text) < 200, "a 5,000-digit page is not echoed whole"
        assert response.headers["content-security-policy"]
    for good in ("1", "2", "999999999"):
        response = client.get(f"/jobs/{state}?page={good}")
        assert response.status_code == 200, good
        assert f"page {good} of 1" in response.text
    json_client = client.get("/jobs/ready?page=abc", headers={"Accept": "application/json"})
    assert json_client.status_code == 400 and "page must be" in json_client.json()["error"]


def test_a_10_mb_argument_is_folded_in_listings(client: TestClient, adapter: Any) -> None:
    big = "x" * 10_000_000
    job = PageJob.perform_later(big)
    listing = client.get("/jobs/ready")
    assert listing.status_code == 200
    assert len(listing.content) < 50_000, "the list page does not carry the 10 MB argument"
    shown = re.search(r'<a class="more" href="([^"]+)">show all (\d+) bytes</a>', listing.text)
    assert shown, listing.text[-3000:]
    assert int(shown.group(2)) > 10_000_000
    detail = client.get(shown.group(1))
    assert detail.status_code == 200 and job.job_id in detail.text
    assert re.search(r"<details class=\"big\"><summary>show all \d+ bytes</summary>", detail.text)
    PageJob.perform_later("small")
    assert "show all" not in client.get("/jobs/ready?page=1&queue=nowhere").text


@pytest.mark.parametrize("adapter", ["redis"], indirect=True)  # SQL keeps names in text columns
def test_a_queue_name_that_is_not_utf8_in_redis_is_shown_escaped(adapter: Any) -> None:
    """Only a foreign producer can write one (jobframe checks names): every page still answers,
    with the name escaped."""
    adapter.store.client.sadd(adapter.store.keys.queues, b"bad\xffname")
    adapter.store.client.sadd(adapter.store.keys.paused, b"paused\xfe")
    app = create_app(adapter.inspector(), Auth(token=TOKEN))
    client = TestClient(app, cookies={"jobframe_token": TOKEN})
    page = client.get("/queues")
    assert page.status_code == 200
    assert "bad\\xffname" in page.text and "paused\\xfe" in page.text
    for state in STATES:
        assert client.get(f"/jobs/{state}").status_code == 200, state
    assert client.get("/").status_code == 200
