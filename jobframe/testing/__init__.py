"""Test helpers that ship with jobframe: assertions, the pytest fixture, the conformance suite."""

from jobframe.queue_adapters.test import EnqueuedJob, TestAdapter
from jobframe.testing.conformance import AdapterConformance, BackendConformance, WorkerHarness
from jobframe.testing.continuations import interrupt_at
from jobframe.testing.helpers import JobsHelper
from jobframe.testing.unittest import JobTestCase

__all__ = [
    "AdapterConformance",
    "BackendConformance",
    "EnqueuedJob",
    "JobTestCase",
    "JobsHelper",
    "TestAdapter",
    "WorkerHarness",
    "interrupt_at",
]
