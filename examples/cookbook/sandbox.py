"""A throwaway world for one recipe: a folder, a SQLite job database, and a real worker process.

The enqueuing side (this process) and the worker (a ``jobframe work`` subprocess) share the folder.
The worker runs in it and reads its settings from the ``jobframe.toml`` the sandbox writes there,
as a deployed worker reads its app's settings file; it finds the folder's data files through
``$COOKBOOK_DATA``, and the recipes' modules through ``$PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import jobframe
from jobframe import queue_adapters

#: The folder that holds the ``cookbook`` package, so that ``jobframe work cookbook.RECIPE`` can
#: import the recipe.
EXAMPLES = Path(__file__).resolve().parent.parent
DATA_VARIABLE = "COOKBOOK_DATA"
#: How often an idle worker looks for due jobs. The sql adapter's default, 1 s, suits a real
#: queue; a demo whose jobs retry after fractions of a second should not wait that long each time.
POLL_INTERVAL = 0.1
SETTINGS = """\
# Written by the cookbook's sandbox: the settings of `jobframe` commands run in this folder.
adapter = "sql"
adapter_options = {{ url = {url}, poll_interval = {poll_interval} }}
"""


def data_folder() -> Path:
    """The folder shared by the enqueuer and the worker (``$COOKBOOK_DATA``, else ``./data``)."""
    return Path(os.environ.get(DATA_VARIABLE) or "data").resolve()


@dataclass(frozen=True)
class WorkResult:
    """What one ``jobframe work`` session did, read back through the SQL inspector."""

    runs: int  # jobs performed, retries included (the inspector's "processed" counter)
    failed: int  # jobs in the dead set: out of retries, or broken
    seconds: float  # from starting the worker until the queues were empty


class Sandbox:
    """A SQLite job database in `folder`, with the sql adapter configured for this process.

    Use it as a context manager: entering writes the folder's ``jobframe.toml``, creates the
    tables with ``jobframe db init`` (as you would on a real deployment) and points
    ``$COOKBOOK_DATA`` at the folder; leaving closes the adapter's connections.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.url = f"sqlite:///{self.folder / 'jobs.sqlite3'}"
        # JOBFRAME_ADAPTER / JOBFRAME_URL from the caller's shell would win over the file.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
        self.env[DATA_VARIABLE] = str(self.folder)
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(EXAMPLES), os.environ.get("PYTHONPATH")])
        )

    def __enter__(self) -> Sandbox:
        self.folder.mkdir(parents=True, exist_ok=True)
        settings = SETTINGS.format(url=json.dumps(self.url), poll_interval=POLL_INTERVAL)
        (self.folder / "jobframe.toml").write_text(settings)
        os.environ[DATA_VARIABLE] = str(self.folder)
        init = self._jobframe("db", "init", stdout=subprocess.DEVNULL)
        if init.wait() != 0:
            raise RuntimeError(f"`jobframe db init` failed for {self.url}")
        jobframe.configure(adapter="sql", adapter_options={"url": self.url})
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        queue_adapters.get().shutdown()

    @property
    def inspector(self) -> Any:
        """The SQL adapter's inspector: the same view of the jobs as ``jobframe jobs``."""
        return queue_adapters.get().inspector()  # type: ignore[attr-defined]

    def pending(self) -> int:
        """Jobs not done yet (ready, scheduled, running), read in one consistent query."""
        return int(self.inspector.pending())

    def work(self, module: str, *, concurrency: int = 4, timeout: float = 60) -> WorkResult:
        """Run ``jobframe work MODULE`` until no job is pending, then stop it with SIGTERM.

        The worker's prints and logs (level WARNING) go to this process's stdout and stderr.

        Raises:
            RuntimeError: the worker exited early, or the jobs were not done within `timeout`.
        """
        before = self.inspector.stats()["processed"]
        started = time.monotonic()
        worker = self._jobframe(
            "work", module, "--concurrency", str(concurrency), "--log-level", "WARNING"
        )
        try:
            while self.pending():
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited with code {worker.returncode}")
                if time.monotonic() - started > timeout:
                    raise RuntimeError(f"jobs still pending after {timeout} s")
                time.sleep(0.05)  # polling the tables, as `jobframe jobs` or a dashboard would
            seconds = time.monotonic() - started
            worker.send_signal(signal.SIGTERM)  # graceful: nothing is running any more
            worker.wait(30)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        stats = self.inspector.stats()
        return WorkResult(stats["processed"] - before, self.inspector.count("dead"), seconds)

    def _jobframe(self, *args: str, stdout: Any = None) -> subprocess.Popen[bytes]:
        """``jobframe ARGS...`` as you would type it in the sandbox's folder."""
        command = [sys.executable, "-m", "jobframe", *args]
        return subprocess.Popen(command, cwd=self.folder, env=self.env, stdout=stdout)
