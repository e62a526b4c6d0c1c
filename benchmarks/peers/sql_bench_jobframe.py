# ruff: noqa: E501
"""jobframe with the jobframe-sql adapter; the jobs database is BENCH_SQL_URL (PostgreSQL, SQLite
or MariaDB), the job body's counter is always in PostgreSQL (BENCH_PG_DSN)."""

import os
import sys

import sql_harness

CONCURRENCY = int(os.environ.get("BENCH_JOBFRAME_CONCURRENCY", "5"))
JOB_TABLES = ("jobframe_jobs", "jobframe_processes", "jobframe_stats", "jobframe_pauses")


class JobframeSQLPeer(sql_harness.Peer):
    name = "jobframe"
    bulk_api = "perform_all_later"
    worker_config = f"jobframe work, 1 process, --concurrency {CONCURRENCY} (threads, default)"

    def __init__(self):
        super().__init__()
        self.url = os.environ["BENCH_SQL_URL"]
        self.backend = {"postgresql": "PostgreSQL", "sqlite": "SQLite (file)",
                        "mysql": "MariaDB"}[self.url.split(":")[0].split("+")[0]]  # fmt: skip
        self.label = "jobframe-sql" if self.backend == "PostgreSQL" else f"jobframe-sql [{self.backend}]"
        self.tables = JOB_TABLES if self.backend == "PostgreSQL" else ()

    def version(self):
        from importlib.metadata import version

        return version("jobframe-sql")

    def setup(self):
        import jobframe
        from jobframe_sql import db

        jobframe.configure(adapter="sql", adapter_options={"url": self.url})
        from jobframe import queue_adapters

        self.adapter = queue_adapters.get()
        db.init(self.adapter.engine)
        import sql_jobs_jobframe

        self.jobs = sql_jobs_jobframe
        self.jobframe = jobframe
        with open(os.path.join(self.workdir, "jobframe.toml"), "w") as f:
            f.write(f'adapter = "sql"\n[adapter_options]\nurl = "{self.url}"\n')

    def clear_other(self):
        if self.backend == "PostgreSQL" or not hasattr(self, "adapter"):
            return
        import sqlalchemy as sa

        with self.adapter.engine.begin() as conn:
            for table in JOB_TABLES:
                conn.execute(sa.text(f"DELETE FROM {table}"))

    def enqueue_one(self, n):
        perform_later = self.jobs.NoopJob.perform_later
        for i in range(n):
            perform_later(i)

    def enqueue_bulk(self, n):
        noop = self.jobs.NoopJob
        self.jobframe.perform_all_later([noop(i) for i in range(n)])

    def enqueue_stamp(self):
        self.jobs.StampJob.perform_later()

    def worker_argv(self, burst):
        return [sys.executable, "-m", "jobframe", "work", "sql_jobs_jobframe", "--queues", "*",
                "--concurrency", str(CONCURRENCY), "--log-level", "WARNING"]  # fmt: skip

    def close(self):
        self.adapter.shutdown()


if __name__ == "__main__":
    sql_harness.run_peer_main(JobframeSQLPeer)
