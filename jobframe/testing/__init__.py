"""Test helpers that ship with jobframe: assertions, the pytest fixture, the conformance suite."""

from jobframe.queue_adapters.test import EnqueuedJob, TestAdapter
from jobframe.testing.helpers import JobsHelper
from jobframe.testing.unittest import JobTestCase

__all__ = ["EnqueuedJob", "JobTestCase", "JobsHelper", "TestAdapter"]
