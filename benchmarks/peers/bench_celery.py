"""Celery, solo pool, Redis broker (kombu). No bulk enqueue: `group(...).apply_async()` publishes
one message per task over one producer."""

import sys

import harness


class CeleryPeer(harness.Peer):
    name = "celery"
    bulk_api = "group(...).apply_async() (1 publish/job)"
    worker_config = "celery worker --pool solo -c 1, prefetch multiplier 4 (default)"
    keep_patterns = ("_kombu.binding.*",)

    def setup(self):
        import jobs_celery
        from celery import group

        self.jobs = jobs_celery
        self.group = group

    def enqueue_one(self, n):
        delay = self.jobs.noop.delay
        for i in range(n):
            delay(i)

    def enqueue_bulk(self, n):
        noop = self.jobs.noop
        self.group(noop.s(i) for i in range(n)).apply_async()

    def enqueue_stamp(self):
        self.jobs.stamp.delay()

    def worker_argv(self, burst):
        return [sys.executable, "-m", "celery", "-A", "jobs_celery", "worker", "--pool", "solo",
                "--concurrency", "1", "-Q", "bench", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--loglevel", "WARNING"]  # fmt: skip

    def close(self):
        self.jobs.app.close()


if __name__ == "__main__":
    harness.run_peer_main(CeleryPeer)
