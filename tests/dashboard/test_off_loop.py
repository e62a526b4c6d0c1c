"""A slow inspector call does not stall the application that mounts the dashboard: pages run
their inspector calls in a worker thread, not on the event loop."""

from __future__ import annotations

import threading
from typing import Any

import httpx2
from dashboard.browser_support import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from jobframe.dashboard import Auth, create_app

TOKEN = "l" * 32


class BlockingInspector:
    """A real backend's inspector whose queue listing waits until the test lets it go."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def queues(self) -> list[Any]:
        self.entered.set()
        assert self.release.wait(30), "the test never released the inspector"
        return list(self.real.queues())


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("host app")


def test_the_host_app_answers_while_an_inspector_call_blocks(adapter: Any) -> None:
    inspector = BlockingInspector(adapter.inspector())
    host = Starlette(
        routes=[
            Route("/", home),
            Mount("/jobs", app=create_app(inspector, Auth(token=TOKEN))),  # type: ignore[arg-type]
        ]
    )
    answers: list[int] = []
    with serve(host) as url:

        def slow_page() -> None:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            answers.append(
                httpx2.get(f"{url}/jobs/queues", headers=headers, timeout=30).status_code
            )

        dashboard = threading.Thread(target=slow_page, name="slow-dashboard-page")
        dashboard.start()
        try:
            assert inspector.entered.wait(10), "the dashboard page never called the inspector"
            own = httpx2.get(f"{url}/", timeout=5)  # before: a ReadTimeout, the loop was stuck
            assert own.status_code == 200 and own.text == "host app"
            assert not answers, "the dashboard page is still waiting on its inspector"
        finally:
            inspector.release.set()
            dashboard.join(30)
    assert answers == [200]
