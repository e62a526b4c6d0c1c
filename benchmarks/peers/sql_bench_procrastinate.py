# ruff: noqa: E501
"""procrastinate (PostgreSQL, psycopg 3): sync `defer` / `batch_defer` from the app's sync
connector (what a sync web app uses), async tasks in its asyncio worker, LISTEN/NOTIFY on."""

import os
import sys

import sql_harness

CONCURRENCY = int(os.environ.get("BENCH_PROCRASTINATE_CONCURRENCY", "1"))


class ProcrastinatePeer(sql_harness.Peer):
    name = "procrastinate"
    bulk_api = "batch_defer"
    worker_config = f"procrastinate worker, 1 process, --concurrency {CONCURRENCY} (default 1), listen-notify on"
    tables = ("procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers",
              "procrastinate_workers")  # fmt: skip

    def setup(self):
        import sql_jobs_procrastinate

        self.jobs = sql_jobs_procrastinate
        self.app = sql_jobs_procrastinate.app.open()
        exists = self.r.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0]
        if exists is None:
            self.app.schema_manager.apply_schema()

    def enqueue_one(self, n):
        defer = self.jobs.noop.defer
        for i in range(n):
            defer(i=i)

    def enqueue_bulk(self, n):
        self.jobs.noop.batch_defer(*[{"i": i} for i in range(n)])

    def enqueue_stamp(self):
        self.jobs.stamp.defer()

    def worker_argv(self, burst):
        return [sys.executable, "-m", "procrastinate", "--app", "sql_jobs_procrastinate.app",
                "--log-level", "warning", "worker", "--concurrency", str(CONCURRENCY)]  # fmt: skip

    def close(self):
        self.app.close()


if __name__ == "__main__":
    sql_harness.run_peer_main(ProcrastinatePeer)
