import harness

import jobframe


class NoopJob(jobframe.Job):
    queue_as = "bench"

    def perform(self, i):
        harness.hit()


class StampJob(jobframe.Job):
    queue_as = "bench"

    def perform(self):
        harness.stamp()
