"""taskiq with taskiq-redis's ListQueueBroker (LPUSH/BRPOP, no acknowledgement). No bulk enqueue."""

import asyncio
import sys

import harness


class TaskiqPeer(harness.Peer):
    name = "taskiq"
    worker_config = "taskiq worker --workers 1, max-async-tasks 100 (default), ListQueueBroker"

    def setup(self):
        import jobs_taskiq

        self.jobs = jobs_taskiq
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(jobs_taskiq.broker.startup())

    def enqueue_one(self, n):
        async def go():
            kiq = self.jobs.noop.kiq
            for i in range(n):
                await kiq(i)

        self.loop.run_until_complete(go())

    def enqueue_stamp(self):
        self.loop.run_until_complete(self.jobs.stamp.kiq())

    def worker_argv(self, burst):
        return [sys.executable, "-m", "taskiq", "worker", "jobs_taskiq:broker", "--workers", "1",
                "--log-level", "WARNING"]  # fmt: skip

    def close(self):
        self.loop.run_until_complete(self.jobs.broker.shutdown())
        self.loop.close()


if __name__ == "__main__":
    harness.run_peer_main(TaskiqPeer)
