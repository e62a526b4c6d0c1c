# ruff: noqa: E501
"""jobframe with the jobframe-redis adapter."""

import os
import sys

import harness

CONCURRENCY = int(os.environ.get("BENCH_JOBFRAME_CONCURRENCY", "5"))


class JobframePeer(harness.Peer):
    name = "jobframe"
    bulk_api = "perform_all_later"
    worker_config = f"jobframe work, 1 process, --concurrency {CONCURRENCY} (threads, default)"

    def setup(self):
        import jobframe

        jobframe.configure(adapter="redis", adapter_options={"url": harness.url(), "prefix": "bench"})
        # Build the adapter (plugin discovery, the client object) as the peers build their
        # clients here; like theirs, it connects on its first command.
        jobframe.queue_adapters.get()
        import jobs_jobframe

        self.jobs = jobs_jobframe
        self.jobframe = jobframe
        with open(os.path.join(self.workdir, "jobframe.toml"), "w") as f:
            f.write(f'adapter = "redis"\n[adapter_options]\nurl = "{harness.url()}"\nprefix = "bench"\n')

    def enqueue_one(self, n):
        perform_later = self.jobs.NoopJob.perform_later
        for i in range(n):
            perform_later(i)

    def enqueue_bulk(self, n):
        noop = self.jobs.NoopJob
        self.jobframe.perform_all_later([noop(i) for i in range(n)])

    def enqueue_stamp(self):
        self.jobs.StampJob.perform_later()

    def worker_argv(self, burst):
        return [sys.executable, "-m", "jobframe", "work", "jobs_jobframe", "--queues", "*",
                "--concurrency", str(CONCURRENCY), "--log-level", "WARNING"]  # fmt: skip


if __name__ == "__main__":
    harness.run_peer_main(JobframePeer)
