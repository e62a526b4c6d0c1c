# ruff: noqa: E501
"""Dramatiq with its RedisBroker. No bulk enqueue: `group(...).run()` sends one message at a time."""

import os
import sys

import harness

THREADS = int(os.environ.get("BENCH_DRAMATIQ_THREADS", "8"))


class DramatiqPeer(harness.Peer):
    name = "dramatiq"
    bulk_api = "group(...).run() (1 send/job)"
    worker_config = f"dramatiq --processes 1 --threads {THREADS} (default threads)"

    def setup(self):
        import dramatiq
        import jobs_dramatiq

        self.jobs = jobs_dramatiq
        self.group = dramatiq.group

    def enqueue_one(self, n):
        send = self.jobs.noop.send
        for i in range(n):
            send(i)

    def enqueue_bulk(self, n):
        noop = self.jobs.noop
        self.group([noop.message(i) for i in range(n)]).run()

    def enqueue_stamp(self):
        self.jobs.stamp.send()

    def worker_argv(self, burst):
        return [sys.executable, "-m", "dramatiq", "jobs_dramatiq", "--processes", "1",
                "--threads", str(THREADS)]  # fmt: skip


if __name__ == "__main__":
    harness.run_peer_main(DramatiqPeer)
