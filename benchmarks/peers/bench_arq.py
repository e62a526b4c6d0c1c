# ruff: noqa: E501
"""arq (asyncio). No bulk enqueue. Its worker polls the queue (poll_delay 0.5 s by default)."""

import asyncio
import sys

import harness


class ArqPeer(harness.Peer):
    name = "arq"
    worker_config = "arq, 1 process, max_jobs 10, poll_delay 0.5 s (defaults)"

    def setup(self):
        import jobs_arq
        from arq import create_pool

        self.loop = asyncio.new_event_loop()
        self.pool = self.loop.run_until_complete(create_pool(jobs_arq.WorkerSettings.redis_settings))

    def enqueue_one(self, n):
        async def go():
            enqueue = self.pool.enqueue_job
            for i in range(n):
                await enqueue("noop", i)

        self.loop.run_until_complete(go())

    def enqueue_stamp(self):
        self.loop.run_until_complete(self.pool.enqueue_job("stamp"))

    def worker_argv(self, burst):
        return [sys.executable, "-m", "arq", "jobs_arq.WorkerSettings"]

    def close(self):
        self.loop.run_until_complete(self.pool.aclose())
        self.loop.close()


if __name__ == "__main__":
    harness.run_peer_main(ArqPeer)
