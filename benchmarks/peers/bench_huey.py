"""Huey's RedisHuey (blocking BRPOP dequeue, the default). Huey has no bulk enqueue."""

import sys

import harness


class HueyPeer(harness.Peer):
    name = "huey"
    worker_config = "huey_consumer -w 1 -k thread (defaults), blocking RedisHuey"

    def setup(self):
        import jobs_huey

        self.jobs = jobs_huey

    def enqueue_one(self, n):
        noop = self.jobs.noop
        for i in range(n):
            noop(i)

    def enqueue_stamp(self):
        self.jobs.stamp()

    def worker_argv(self, burst):
        return [sys.executable, "-m", "huey.bin.huey_consumer", "jobs_huey.huey", "-w", "1",
                "-k", "thread", "-q"]  # fmt: skip


if __name__ == "__main__":
    harness.run_peer_main(HueyPeer)
