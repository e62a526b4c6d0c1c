# ruff: noqa: E501
"""jobframe with the jobframe-redis adapter, its worker at the default log level (INFO: one line
per job, to the worker's log file), as users run it; `bench_jobframe.py` runs it at WARNING."""

import sys

import harness
from bench_jobframe import CONCURRENCY, JobframePeer


class JobframeInfoPeer(JobframePeer):
    name = "jobframe-info"
    worker_config = f"jobframe work, 1 process, --concurrency {CONCURRENCY}, --log-level INFO (default)"

    def version(self):
        from importlib.metadata import version

        return version("jobframe")

    def worker_argv(self, burst):
        return [sys.executable, "-m", "jobframe", "work", "jobs_jobframe", "--queues", "*",
                "--concurrency", str(CONCURRENCY), "--log-level", "INFO"]  # fmt: skip


if __name__ == "__main__":
    harness.run_peer_main(JobframeInfoPeer)
