"""`JobTestCase`: the same assertions as the pytest fixture, for ``unittest`` suites."""

from __future__ import annotations

import unittest
from typing import Any

from jobframe.testing.helpers import JobsHelper

_DELEGATED = (
    "enqueued_jobs",
    "performed_jobs",
    "assert_enqueued_jobs",
    "assert_no_enqueued_jobs",
    "assert_performed_jobs",
    "assert_no_performed_jobs",
    "assert_enqueued_with",
    "assert_performed_with",
    "perform_enqueued_jobs",
    "clear_enqueued_jobs",
)


class JobTestCase(unittest.TestCase):
    """Each test runs with a fresh test adapter; ``self.assert_enqueued_jobs(1)`` and friends."""

    jobs: JobsHelper

    def setUp(self) -> None:
        super().setUp()
        self.jobs = JobsHelper()
        context = self.jobs.installed()
        context.__enter__()
        self.addCleanup(context.__exit__, None, None, None)

    def __getattr__(self, name: str) -> Any:
        if name in _DELEGATED and "jobs" in self.__dict__:
            return getattr(self.jobs, name)
        raise AttributeError(name)
