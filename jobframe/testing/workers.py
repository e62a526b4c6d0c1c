"""Real ``jobframe work`` processes for an adapter's reliability tests.

`Workers` starts worker subprocesses in a folder whose ``jobframe.toml`` (`write_config`) selects
the adapter, SIGKILLs or SIGTERMs them, and kills whatever is left of them (with their process
groups) at the end. The jobs of `jobframe.testing.reliability_jobs` append to a journal file that
`Journal` reads, so a test sees what ran in which process, and how often. `wait_until` polls with
a deadline instead of sleeping a fixed time; `worker_thread` runs a `Worker` in a thread of the
test's own process instead. The Redis, SQL and RabbitMQ suites are built on it::

    write_config(tmp_path, "redis", url="redis://127.0.0.1:6379/0", prefix="test")
    workers = Workers(tmp_path)
    try:
        proc = workers.start()
        job = SleepJob.perform_later(journal.name, 5)
        wait_until(lambda: journal.started(job.job_id), 10, "the job to start")
        workers.kill(proc)
        workers.start()
        wait_until(lambda: journal.ended()[job.job_id], 20, "the job to run again")
    finally:
        workers.close()
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobframe.testing.conformance_jobs import read

if TYPE_CHECKING:
    from jobframe.backend.worker import WorkerBackend
    from jobframe.worker.runtime import Worker, WorkerOptions

#: Heartbeats fast enough for a test to see a SIGKILLed worker's jobs come back within seconds.
HEARTBEAT = ("--heartbeat-interval", "0.2", "--heartbeat-timeout", "1.5")
#: Worker options that keep logs to warnings (the bulk and chaos tests run thousands of jobs).
QUIET = ("--log-level", "WARNING")
RELIABILITY_JOBS = "jobframe.testing.reliability_jobs"


def wait_until(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll ``condition`` until it returns something truthy, and return that; fail with ``what``
    at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port nothing listens on now (for a server the test starts, or a closed one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def worker_thread(
    backend: WorkerBackend, options: WorkerOptions, stop_within: float = 15.0
) -> Iterator[Worker]:
    """A `Worker` on ``backend`` running in a thread of this process for the block; stopped at
    its end, and an `AssertionError` if ``run()`` has not returned ``stop_within`` seconds later
    (a worker that cannot stop is a bug the test should report, not hang on)."""
    from jobframe.worker.runtime import Worker

    worker = Worker(backend, options)
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(stop_within)
    assert not thread.is_alive(), "the worker did not stop"


def write_config(folder: Path, adapter: str, **options: str | int | float | bool) -> None:
    """Write ``folder/jobframe.toml`` selecting ``adapter`` with ``adapter_options``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"adapter = {json.dumps(adapter)}", "", "[adapter_options]"]
    for key, value in options.items():
        text = str(value).lower() if isinstance(value, bool) else json.dumps(value)
        lines.append(f"{key} = {text}")
    (folder / "jobframe.toml").write_text("\n".join(lines) + "\n")


class Journal:
    """The JSON lines the jobs of `jobframe.testing.reliability_jobs` append to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)  # what the jobs take as their first argument

    def lines(self, event: str | None = None) -> list[dict[str, Any]]:
        return [line for line in read(self.path) if event is None or line["event"] == event]

    def ended(self) -> Counter[str]:
        """How many times each job_id ran to its end."""
        return Counter(line["job_id"] for line in self.lines("end"))

    def started(self, job_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines("start") if line["job_id"] == job_id]


class Workers:
    """The worker subprocesses of one test, run in ``folder`` (which holds the ``jobframe.toml``).

    ``jobs``: the modules every worker imports; ``pythonpath``: folders put in front of
    ``PYTHONPATH`` (where a test's own job modules live); ``heartbeat`` and ``concurrency``: the
    defaults of every `start`. ``JOBFRAME_*`` variables of the test's environment are not passed
    on: the folder's configuration is the whole configuration.
    """

    def __init__(
        self,
        folder: Path,
        jobs: Sequence[str] = (RELIABILITY_JOBS,),
        pythonpath: Sequence[str] = (),
        heartbeat: Sequence[str] = HEARTBEAT,
        concurrency: int = 4,
    ) -> None:
        self.folder = folder
        self.jobs = tuple(jobs)
        self.pythonpath = tuple(pythonpath)
        self.heartbeat = tuple(heartbeat)
        self.concurrency = concurrency
        self.procs: list[subprocess.Popen[bytes]] = []
        self.kills: dict[int, float] = {}  # pid -> time.time() just before it was SIGKILLed

    def start(
        self,
        *args: str,
        concurrency: int | None = None,
        queues: str = "*",
        imports: Sequence[str] = (),
        folder: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start one ``jobframe work`` process (its own process group) with extra ``args``; its
        output goes to ``worker-N.log`` in the folder."""
        folder = folder or self.folder
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
        paths = [*self.pythonpath, *filter(None, [env.get("PYTHONPATH")])]
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(paths)
        command = [sys.executable, "-m", "jobframe", "work", *self.jobs, *imports]
        command += ["--queues", queues, "--concurrency", str(concurrency or self.concurrency)]
        command += [*self.heartbeat, *args]
        log = open(folder / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                command,
                cwd=folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL one worker process (not its group: a supervisor's children live on)."""
        self.kills[proc.pid] = time.time()
        proc.kill()
        proc.wait(10)

    def check_alive(self) -> None:
        """Fail if a worker exited on its own (a SIGKILL is expected, anything else is not)."""
        for proc in self.procs:
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                raise AssertionError(
                    f"worker {proc.pid} exited with {proc.returncode}:\n{self.logs()}"
                )

    def logs(self) -> str:
        """The last 3,000 characters of every worker's log."""
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.folder.glob("worker-*.log"))
        )

    def stop(self) -> None:
        """SIGTERM every worker and wait for it; SIGKILL the group of any that does not stop."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
        self.close()

    def close(self) -> None:
        """SIGKILL every worker's process group, whatever state it is in."""
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
