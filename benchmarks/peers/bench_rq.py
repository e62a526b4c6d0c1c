"""RQ: SimpleWorker (no fork per job); burst mode for the processing run."""

import sys

import harness
import redis


class RQPeer(harness.Peer):
    name = "rq"
    bulk_api = "Queue.enqueue_many"
    burst = True
    worker_config = "rq worker -w SimpleWorker, 1 process, 1 job at a time (--burst for processing)"

    def setup(self):
        import jobs_rq
        from rq import Queue

        self.Queue = Queue
        self.jobs = jobs_rq
        self.q = Queue("bench", connection=redis.Redis.from_url(harness.url()))

    def enqueue_one(self, n):
        enqueue, noop = self.q.enqueue, self.jobs.noop
        for i in range(n):
            enqueue(noop, i)

    def enqueue_bulk(self, n):
        prepare, noop = self.Queue.prepare_data, self.jobs.noop
        self.q.enqueue_many([prepare(noop, (i,)) for i in range(n)])

    def enqueue_stamp(self):
        self.q.enqueue(self.jobs.stamp)

    def worker_argv(self, burst):
        return [sys.executable, "-m", "rq.cli", "worker", "-w", "rq.worker.SimpleWorker",
                "-u", harness.url(), "--logging_level", "WARNING", "bench",
                *(["--burst"] if burst else [])]  # fmt: skip


if __name__ == "__main__":
    harness.run_peer_main(RQPeer)
