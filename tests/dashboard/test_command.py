"""`jobframe dashboard`, the command, run for real: uvicorn serving the dashboard, here behind a
reverse proxy's path prefix (``--root-path``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard.browser_support import wait_for

TOKEN = "command-token-" + "c" * 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path}/dash.sqlite3"
    subprocess.run([sys.executable, "-m", "jobframe", "db", "init", "--url", url], check=True)
    return dict(os.environ, JOBFRAME_ADAPTER="sql", JOBFRAME_URL=url,
                JOBFRAME_DASHBOARD_TOKEN=TOKEN)  # fmt: skip


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    argv = [sys.executable, "-m", "jobframe", "dashboard", "--port", str(port),
            "--root-path", "/jobs/"]  # fmt: skip
    proc = subprocess.Popen(argv, env=_env(tmp_path), cwd=tmp_path)
    try:
        wait_for(lambda: _answers(port) or proc.poll() is not None, "the dashboard to listen", 30)
        assert proc.poll() is None, f"jobframe dashboard exited with {proc.returncode}"
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _get(port: int, path: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def test_links_carry_the_prefix_the_proxy_strips(served: int) -> None:
    page = _get(served, "/queues")  # what the proxy forwards for /jobs/queues
    assert 'href="/jobs/queues"' in page
    assert 'href="/jobs/static/dashboard.css"' in page
    assert 'data-summary="/jobs/api/summary"' in page
    assert "127.0.0.1" not in page  # no host: links survive a proxy that rewrites Host


def test_a_prefix_without_a_leading_slash_is_refused(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "jobframe", "dashboard", "--root-path", "jobs"]
    done = subprocess.run(argv, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "--root-path must start with '/'" in done.stderr
