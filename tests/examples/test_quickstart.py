"""`scripts/example` runs the quickstart for real: SQLite file, `jobframe work`, jobs done."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _python_step() -> tuple[Path, list[str]]:
    """The folder and arguments of the script's last command, ``cd DIR`` + ``PYTHON main.py``."""
    lines = [
        line.strip()
        for line in (ROOT / "scripts/example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    cd, run = shlex.split(lines[-2]), shlex.split(lines[-1])
    assert cd[0] == "cd" and run[0].endswith("/.venv/bin/python"), lines[-2:]
    assert "adapters/jobframe-sql" in " ".join(lines), "the SQL adapter is installed"
    return ROOT / cd[1], run[1:]


@pytest.mark.slow
def test_the_quickstart_runs_a_real_worker_on_sqlite() -> None:
    folder, args = _python_step()
    result = subprocess.run(
        [sys.executable, *args], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Database: sqlite:///" in out and "schema version" in out
    for n in (1, 2, 3, 4):
        assert f"sent welcome email #{n} " in out
    assert "synced user 1 to the CRM after 3 attempts" in out
    assert "Outbox: ['welcome-1.json', 'welcome-2.json', 'welcome-3.json', 'welcome-4.json']" in out
    assert "Runs (retries included): 7, failed jobs: 0" in out
    assert out.index("Running `jobframe work") < out.index("sent welcome email")
    assert "GatewayTimeout" in result.stderr, "the worker logged the retried failures"
