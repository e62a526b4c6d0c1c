"""A stand-in for a flaky third-party API: a local HTTP server that answers 503 a few times first.

It runs on a free port of 127.0.0.1 in a thread of the enqueuing process; the worker calls it like
any remote service. Every request is printed, and kept in `FlakyService.statuses`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class FlakyService:
    """``with FlakyService(failures=3) as service:`` serves ``service.url``: 503 `failures` times,
    then 200 with a JSON body of exchange rates."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.service = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._serve, name="flaky-service")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/rates"

    def __enter__(self) -> FlakyService:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)  # so that leaving the block is quick

    def answer(self) -> int:
        """The status for the next request: 503 while failures are left, then 200."""
        with self._lock:
            status = 503 if len(self.statuses) < self.failures else 200
            self.statuses.append(status)
            print(f"  rates service: request {len(self.statuses)} -> {status}", flush=True)
            return status


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        service: FlakyService = self.server.service  # type: ignore[attr-defined]
        status = service.answer()
        body = json.dumps({"EUR": 0.92, "GBP": 0.79} if status == 200 else {"error": "busy"})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass  # `answer` prints one line per request instead
