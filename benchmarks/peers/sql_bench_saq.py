"""SAQ (asyncio) with its PostgreSQL queue (`PostgresQueue`, psycopg 3 pool, LISTEN/NOTIFY).
No bulk enqueue: `Queue.map` waits for the results, and the PostgreSQL queue has no
`enqueue_many`."""

import asyncio
import sys

import sql_harness


class SaqPGPeer(sql_harness.Peer):
    name = "saq"
    worker_config = "saq --workers 1, concurrency 10 (default)"
    tables = ("saq_jobs", "saq_stats")

    def setup(self):
        import sql_jobs_saq

        self.loop = asyncio.new_event_loop()
        self.queue = sql_jobs_saq.queue
        self.loop.run_until_complete(self.queue.connect())  # creates its tables

    def enqueue_one(self, n):
        async def go():
            enqueue = self.queue.enqueue
            for i in range(n):
                await enqueue("noop", i=i)

        self.loop.run_until_complete(go())

    def enqueue_stamp(self):
        self.loop.run_until_complete(self.queue.enqueue("stamp"))

    def worker_argv(self, burst):
        return [sys.executable, "-m", "saq", "sql_jobs_saq.settings", "--workers", "1", "--quiet"]

    def close(self):
        self.loop.run_until_complete(self.queue.disconnect())
        self.loop.close()


if __name__ == "__main__":
    sql_harness.run_peer_main(SaqPGPeer)
