"""The Recurring page where there is nothing to run: no tasks, a backend that cannot run them,
and a task that cannot be built. (Listing and running tasks is in the conformance suite's
dashboard module, so every backend runs it.)"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

import jobframe
from jobframe import queue_adapters
from jobframe.dashboard import Auth, create_app
from jobframe.queue_adapters.async_adapter import AsyncAdapter

TOKEN = "r" * 32
NIGHTLY = {"job": "fixture_jobs.page_job:PageJob", "schedule": "0 3 * * *", "args": ["x"]}


class NoRecurringAdapter(AsyncAdapter):
    """The async adapter as a backend that runs no recurring tasks declares itself (the
    RabbitMQ example plugin does; it needs a broker these tests do not have)."""

    capabilities = replace(AsyncAdapter.capabilities, recurring=False)

    def recurring(self) -> None:  # type: ignore[override]
        return None


@pytest.fixture
def unsupported() -> Iterator[NoRecurringAdapter]:
    made = NoRecurringAdapter(autostart=False)
    with queue_adapters.override(made):
        yield made
    made.shutdown(timeout=5)


def client_of(adapter: Any) -> TestClient:
    app = create_app(adapter.inspector(), Auth(token=TOKEN))
    return TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


def text_of(page: str) -> str:
    """The words of a page, tags dropped and spaces folded, for assertions on sentences."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_with_no_task_the_page_says_how_to_declare_one(adapter: Any) -> None:
    page = client_of(adapter).get("/recurring")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "No recurring tasks are declared" in words
    assert '@jobframe.recurring("0 3 * * *")' in words
    assert "docs/recurring.md" in words
    assert "Run now" not in words


def test_a_backend_without_recurring_support_lists_the_tasks_and_says_so(
    unsupported: NoRecurringAdapter,
) -> None:
    jobframe.configure(recurring={"nightly": NIGHTLY})
    client = client_of(unsupported)
    page = client.get("/recurring")
    assert page.status_code == 200, page.text
    words = text_of(page.text)
    assert "This backend has no recurring support" in words
    assert "cannot run recurring tasks" in words, "the adapter's own reason is not shown"
    assert "nightly" in words and "At 03:00" in words
    assert "Run now" not in words and "never" not in words
    answer = client.post("/recurring/nightly/run", headers={"Accept": "application/json"})
    assert answer.status_code == 501
    assert "cannot run recurring tasks" in answer.json()["error"]
    assert unsupported.inspector().count("ready") == 0, "a refused run now enqueued a job"


def test_a_task_that_cannot_be_built_is_shown_as_the_error(adapter: Any) -> None:
    jobframe.configure(
        recurring={"nightly": NIGHTLY, "broken": {**NIGHTLY, "schedule": "61 * * * *"}}
    )
    client = client_of(adapter)
    page = client.get("/recurring")
    assert page.status_code == 200, page.text
    words = text_of(page.text)
    assert "The recurring tasks cannot be listed" in words
    assert "recurring task 'broken'" in words, words
    answer = client.post("/recurring/nightly/run", headers={"Accept": "application/json"})
    assert answer.status_code == 409 and "'broken'" in answer.json()["error"]
    assert adapter.inspector().count("ready") == 0
