"""A real reverse proxy for the dashboard tests: Debian's nginx, started on a spare loopback port
with everything (config, pid, logs, temp files) under the test's tmp_path, rewriting ``Host`` and
stripping the ``/jobs/`` prefix, as a production proxy in front of ``jobframe dashboard`` would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dashboard.browser_support import unavailable, wait_for

from jobframe.testing.services import port_open
from jobframe.testing.workers import free_port

NGINX = "/usr/sbin/nginx"
PUBLIC_PREFIX = "/jobs"
BACKEND_HOST = "backend.internal"


def answers(port: int) -> bool:
    return port_open("127.0.0.1", port)


def require_nginx() -> None:
    """Skip without nginx; under ``CI`` fail instead (``scripts/test`` installs it)."""
    if not os.access(NGINX, os.X_OK):
        unavailable(f"{NGINX} is missing: apt-get install nginx (scripts/test does)")


def _config(tmp: Path, port: int, backend: int) -> str:
    temp = " ".join(
        f"{kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;" if os.geteuid() == 0 else ""  # workers must reach tmp_path's files
    return f"""
daemon off;
{user}
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp / "access.log"};
    {temp}
    server {{
        listen 127.0.0.1:{port};
        location {PUBLIC_PREFIX}/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            proxy_set_header Host {BACKEND_HOST};
        }}
    }}
}}
"""


@contextmanager
def nginx(tmp_path: Path, backend: int, port: int | None = None) -> Iterator[str]:
    """nginx in front of the server on ``backend``; yields its public base URL (with the
    prefix, no trailing slash)."""
    require_nginx()
    port = port or free_port()
    tmp = tmp_path / "nginx"
    tmp.mkdir()
    conf = tmp / "nginx.conf"
    conf.write_text(_config(tmp, port, backend))
    argv = [NGINX, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: answers(port) or proc.poll() is not None, "nginx to listen", 15)
        if proc.poll() is not None:
            output = proc.stdout.read().decode() if proc.stdout else ""
            log = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
            raise AssertionError(f"nginx exited with {proc.returncode}: {output} {log}")
        yield f"http://127.0.0.1:{port}{PUBLIC_PREFIX}"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


@contextmanager
def dashboard_command(
    url: str, port: int, token: str, root_path: str = PUBLIC_PREFIX, **env: str
) -> Iterator[int]:
    """``jobframe dashboard --root-path <root_path>`` on ``port`` over the SQL database at
    ``url``."""
    argv = [sys.executable, "-m", "jobframe", "dashboard", "--port", str(port),
            "--root-path", root_path]  # fmt: skip
    environ = dict(os.environ, JOBFRAME_ADAPTER="sql", JOBFRAME_URL=url,
                   JOBFRAME_DASHBOARD_TOKEN=token, **env)  # fmt: skip
    proc = subprocess.Popen(argv, env=environ, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: answers(port) or proc.poll() is not None, "the dashboard to listen", 30)
        assert proc.poll() is None, f"jobframe dashboard exited with {proc.returncode}"
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
