"""SAQ (asyncio) with its Redis queue. No bulk enqueue (`Queue.map` waits for results)."""

import asyncio
import sys

import harness


class SaqPeer(harness.Peer):
    name = "saq"
    worker_config = "saq --workers 1, concurrency 10 (default)"

    def setup(self):
        import jobs_saq

        self.loop = asyncio.new_event_loop()
        self.queue = jobs_saq.queue
        self.loop.run_until_complete(self.queue.connect())

    def enqueue_one(self, n):
        async def go():
            enqueue = self.queue.enqueue
            for i in range(n):
                await enqueue("noop", i=i)

        self.loop.run_until_complete(go())

    def enqueue_stamp(self):
        self.loop.run_until_complete(self.queue.enqueue("stamp"))

    def worker_argv(self, burst):
        return [sys.executable, "-m", "saq", "jobs_saq.settings", "--workers", "1", "--quiet"]

    def close(self):
        self.loop.run_until_complete(self.queue.disconnect())
        self.loop.close()


if __name__ == "__main__":
    harness.run_peer_main(SaqPeer)
