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


def test_the_readme_runs_what_scripts_example_runs() -> None:
    """The quickstart's README gives the commands `scripts/example` runs (and this file tests)."""
    readme = (ROOT / "examples/quickstart/README.md").read_text()
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0]  # the first sh block: "Run it"
    commands = block.strip().splitlines()
    folder, args = _python_step()
    assert commands[-2] == f"cd {folder.relative_to(ROOT)}"
    assert commands[-1] == f"../../.venv/bin/python {' '.join(args)}"
    assert "adapters/jobframe-sql" in commands[1]


def test_every_example_has_a_readme() -> None:
    # README.md says each example runs from its README.
    folders = [p for p in (ROOT / "examples").iterdir() if p.is_dir() and p.name[0] not in "._"]
    assert folders
    assert [p.name for p in folders if not (p / "README.md").is_file()] == []
