"""Real ``jobframe work`` processes for the tests, polling with deadlines, and broker peeking.

Workers run as ``python -m jobframe work`` in a temporary folder whose ``jobframe.toml`` selects
the ``rabbitmq`` adapter by name, as an application would, so the plugin's entry point is exercised
too. Every process a test starts is killed (with its process group) at teardown.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from jobframe_rabbitmq.adapter import RabbitMQAdapter

HERE = Path(__file__).resolve().parent


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Workers:
    """Starts the worker subprocesses of one test and kills whatever is left of them at the end."""

    def __init__(self, folder: Path, url: str, prefix: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "jobframe.toml").write_text(
            f'adapter = "rabbitmq"\n\n[adapter_options]\nurl = "{url}"\nprefix = "{prefix}"\n'
        )
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, *args: str, imports: tuple[str, ...] = (), queues: str = "*", concurrency: int = 2
    ) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBFRAME_")}
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
        command = [sys.executable, "-m", "jobframe", "work", "rabbitmq_jobs", *imports]
        command += ["--queues", queues, "--concurrency", str(concurrency), *args]
        log = open(self.folder / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                command,
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self.procs.append(proc)
        return proc

    def check_alive(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None and proc.returncode != -signal.SIGKILL:
                pytest.fail(f"worker {proc.pid} exited with {proc.returncode}:\n{self.logs()}")

    def logs(self) -> str:
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
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def workers(tmp_path: Path, amqp_url: str, prefix: str) -> Iterator[Workers]:
    pool = Workers(tmp_path / "app", amqp_url, prefix)
    try:
        yield pool
    finally:
        pool.stop()
        print(f"worker logs (tails):\n{pool.logs()}")  # shown when the test failed


def peek(adapter: RabbitMQAdapter, queue: str) -> list[tuple[Any, bytes]]:
    """The messages of a RabbitMQ queue, left in place: (properties, body) in queue order."""
    connection = pika.BlockingConnection(pika.URLParameters(adapter.url))
    try:
        channel = connection.channel()
        found = []
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
            if method is None:
                return found
            found.append((properties, body))
    finally:
        connection.close()  # what was read and not acknowledged goes back


def publish_raw(adapter: RabbitMQAdapter, queue: str, body: bytes, **properties: Any) -> None:
    """Put a message straight on a jobframe queue, as a foreign producer might."""
    connection = pika.BlockingConnection(pika.URLParameters(adapter.url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        adapter.topology.declare_base(channel)
        adapter.topology.declare_queue(channel, queue)
        props = pika.BasicProperties(delivery_mode=2, **properties)
        channel.basic_publish("", adapter.names.queue(queue), body, props, mandatory=True)
    finally:
        connection.close()
