"""How the conformance suite runs a backend's workers: `WorkerHarness`.

A backend's test module builds one per test (its ``harness`` fixture). The suite then starts real
``jobframe work`` processes with it, SIGKILLs and SIGTERMs them, and drops the backend's
connections under them, without knowing which backend it is talking to.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from jobframe.testing.workers import HEARTBEAT, RELIABILITY_JOBS, Workers, write_config

CONFORMANCE_JOBS = "jobframe.testing.conformance_jobs"


class WorkerHarness(Workers):
    """Worker processes of one backend, in ``folder`` (its ``jobframe.toml`` is written here).

    Parameters:
        folder: where the configuration and the workers' logs go (a test's ``tmp_path``).
        adapter: the adapter's registered name (``"redis"``), as an application configures it.
        options: the ``adapter_options`` a worker process needs to reach the same store as the
            test's adapter (URL, key prefix): the workers must see the test's jobs.
        drop_connections: cuts every connection the workers hold to the backend, the way a
            restart or a network failure would, and returns how many it cut; None when the
            backend has none (SQLite), which makes the reconnect test not applicable.
        jobs: extra modules every worker imports (the suite's own are always imported).
        pythonpath: folders put in front of ``PYTHONPATH`` (where those modules live).
        heartbeat: the heartbeat options of every worker (fast, so a SIGKILL is seen at once).
    """

    def __init__(
        self,
        folder: Path,
        adapter: str,
        options: Mapping[str, str | int | float | bool],
        *,
        drop_connections: Callable[[], int] | None = None,
        jobs: Sequence[str] = (),
        pythonpath: Sequence[str] = (),
        heartbeat: Sequence[str] = HEARTBEAT,
    ) -> None:
        write_config(folder, adapter, **options)
        super().__init__(
            folder,
            jobs=(RELIABILITY_JOBS, CONFORMANCE_JOBS, *jobs),
            pythonpath=pythonpath,
            heartbeat=heartbeat,
            concurrency=2,
        )
        self.drop = drop_connections

    def terminate(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM one worker: the graceful shutdown a deploy asks for."""
        proc.send_signal(signal.SIGTERM)

    def drop_connections(self) -> int:
        """Cut the workers' connections to the backend; how many were cut."""
        if self.drop is None:
            raise RuntimeError("this harness was given no drop_connections")
        return self.drop()
