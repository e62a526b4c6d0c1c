# ruff: noqa: E501
"""taskiq tuned (issue 18): RedisStreamBroker, its Receiver run in one worker process with
max_async_tasks=32 and max_prefetch=32 (`taskiq_receiver.py`). No bulk enqueue."""

import asyncio
import os
import sys
from importlib.metadata import version

import harness


class TaskiqTunedPeer(harness.Peer):
    name = "taskiq-tuned"
    worker_config = "taskiq Receiver in one process, RedisStreamBroker, max_async_tasks=32, max_prefetch=32"

    def version(self):
        return version("taskiq")

    def setup(self):
        import jobs_taskiq_tuned

        self.jobs = jobs_taskiq_tuned
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(jobs_taskiq_tuned.broker.startup())

    def enqueue_one(self, n):
        async def go():
            kiq = self.jobs.noop.kiq
            for i in range(n):
                await kiq(i)

        self.loop.run_until_complete(go())

    def enqueue_stamp(self):
        self.loop.run_until_complete(self.jobs.stamp.kiq())

    def worker_argv(self, burst):
        return [sys.executable, os.path.join(harness.HERE, "taskiq_receiver.py")]

    def close(self):
        self.loop.run_until_complete(self.jobs.broker.shutdown())
        self.loop.close()


if __name__ == "__main__":
    harness.run_peer_main(TaskiqTunedPeer)
