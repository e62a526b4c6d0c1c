"""`jobframe dashboard`, the command, run for real: uvicorn serving the dashboard, here behind a
reverse proxy's path prefix (``--root-path``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard.browser_support import wait_for
from dashboard.proxy_support import answers, dashboard_command

from jobframe.testing.workers import free_port

TOKEN = "command-token-" + "c" * 20


def _database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/dash.sqlite3"
    subprocess.run([sys.executable, "-m", "jobframe", "db", "init", "--url", url], check=True)
    return url


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, JOBFRAME_ADAPTER="sql", JOBFRAME_URL=_database(tmp_path),
                JOBFRAME_DASHBOARD_TOKEN=TOKEN)  # fmt: skip


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    """The command behind a prefix given with its trailing slash (``/jobs/``)."""
    with dashboard_command(_database(tmp_path), free_port(), TOKEN, root_path="/jobs/") as port:
        yield port


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


def test_it_says_where_it_serves_and_logs_each_request_without_secrets(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "jobframe", "dashboard", "--port", str(port),
            "--root-path", "/jobs"]  # fmt: skip
    proc = subprocess.Popen(
        argv, env=_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_for(lambda: answers(port) or proc.poll() is not None, "the dashboard to listen", 30)
        banner = f"serving http://127.0.0.1:{port}/ with links under /jobs/"
        wait_for(lambda: any(banner in line for line in lines), f"{banner!r} in {lines}", 10)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/queues?page=1",
            headers={"Authorization": f"Bearer {TOKEN}", "Cookie": f"jobframe_token={TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        logged = '"GET /jobs/queues?page=1 HTTP/1.1" 200'
        wait_for(lambda: any(logged in line for line in lines), f"{logged!r} in {lines}", 10)
    finally:
        proc.terminate()
        proc.wait(10)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert not any(TOKEN in line for line in lines), "neither the token nor the cookie is shown"
