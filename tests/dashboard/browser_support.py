"""A live dashboard for a real browser: a backend (Redis or PostgreSQL), the dashboard served by
uvicorn on a free loopback port, and a worker, each in a background thread; plus Chromium.

Used by ``tests/dashboard/test_browser.py`` and ``scripts/screenshots.py``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import uvicorn

import jobframe
from jobframe import queue_adapters
from jobframe.dashboard import Auth, create_app
from jobframe.worker.runtime import Worker, WorkerOptions
from jobframe_redis.testing import redis_adapter
from jobframe_sql.testing import sql_adapter

TOKEN = "browser-token-" + "b" * 24
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# What the jobs below did, for tests to wait on; texts in FAILING raise until removed.
FAILING: set[str] = set()
DONE: list[str] = []
_done = threading.Condition()


class ReportFailed(Exception):
    """The error the failing jobs raise (its traceback is what the job page shows)."""


def _perform(text: str) -> None:
    if text in FAILING:
        raise ReportFailed(f"could not build report {text!r}: upstream returned 502")
    with _done:
        DONE.append(text)
        _done.notify_all()


class BuildReportJob(jobframe.Job):
    job_name = "reports.BuildReportJob"
    queue_as = "reports"

    def perform(self, text: str) -> None:
        _perform(text)


class SendEmailJob(jobframe.Job):
    job_name = "mailers.SendEmailJob"
    queue_as = "mailers"

    def perform(self, text: str) -> None:
        _perform(text)


def wait_done(text: str, timeout: float = 15.0) -> None:
    """Block until a job with argument ``text`` has run successfully."""
    deadline = time.monotonic() + timeout
    with _done:
        while text not in DONE:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"job {text!r} did not run within {timeout} s; ran: {DONE}")
            _done.wait(left)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll ``condition`` until true, failing with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


# -- backends ------------------------------------------------------------------------------------


BACKENDS: dict[str, Callable[[], AbstractContextManager[Any]]] = {
    "redis": partial(redis_adapter, label="jfbrowser"),
    "postgresql": partial(sql_adapter, "postgresql"),
}
SERVICES = {"redis": ("Redis", 6379), "postgresql": ("PostgreSQL", 5432)}


# -- the dashboard and a worker in threads -------------------------------------------------------


@dataclass
class Live:
    adapter: Any
    url: str  # the dashboard's base URL, no trailing slash
    worker: Worker
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def inspector(self) -> Any:
        return self.adapter.inspector()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="dashboard-server", daemon=True
    )
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), "uvicorn to start", 10)
        assert server.started, "uvicorn did not start (see its log above)"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def live_dashboard(adapter: Any, *, worker: bool = True) -> Iterator[Live]:
    """The dashboard over ``adapter`` (token auth) and, unless told not to, a worker on ``*``."""
    FAILING.clear()
    with _done:
        DONE.clear()
    runner = Worker(
        adapter.worker_backend(),
        WorkerOptions(queues=["*"], concurrency=2, heartbeat_interval=1.0, fetch_timeout=0.5),
    )
    app = create_app(adapter.inspector(), Auth(token=TOKEN), adapter=adapter)
    with queue_adapters.override(adapter), serve(app) as url:
        live = Live(adapter, url, runner)
        if worker:
            thread = threading.Thread(
                target=runner.run, kwargs={"install_signals": False}, name="jobframe-worker"
            )
            thread.start()
            live.threads.append(thread)
            wait_for(lambda: len(adapter.inspector().workers()) == 1, "the worker to register")
        try:
            yield live
        finally:
            runner.stop()
            for thread in live.threads:
                thread.join(30)
                assert not thread.is_alive(), "the worker did not stop"


# -- the browser ---------------------------------------------------------------------------------


def unavailable(message: str) -> None:
    """Skip the test for a missing browser (or proxy); under ``CI``, fail it instead."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium through Playwright (never a downloaded browser), headless."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def authenticated_context(browser: Any, url: str, **options: Any) -> Any:
    """A browser context carrying the dashboard's token cookie for ``url``."""
    context = browser.new_context(**options)
    context.add_cookies([{"name": "jobframe_token", "value": TOKEN, "url": url}])
    return context
