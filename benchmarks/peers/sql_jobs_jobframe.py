import sql_harness

import jobframe


class NoopJob(jobframe.Job):
    queue_as = "bench"

    def perform(self, i):
        sql_harness.hit()


class StampJob(jobframe.Job):
    queue_as = "bench"

    def perform(self):
        sql_harness.stamp()
