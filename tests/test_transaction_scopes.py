"""The registry of transaction scopes that enqueuing consults (`jobframe.transaction_scopes`):
a scope of one's own holds jobs and replays them, with no framework in the core."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import jobframe
from jobframe import transaction_scopes
from jobframe.job.base import Job
from jobframe.testing import JobsHelper


class ScopedJob(jobframe.Job):
    def perform(self, n: int) -> None:
        pass


class NeverHeldJob(jobframe.Job):
    enqueue_after_commit = False

    def perform(self, n: int) -> None:
        pass


class ManualScope:
    """A transaction that is open until `commit` or `rollback`."""

    def __init__(self) -> None:
        self.open = False
        self.held: list[tuple[list[Job], bool]] = []

    def hold(self, jobs: list[Job], bulk: bool) -> list[Job] | None:
        if not self.open:
            return None
        waiting = [job for job in jobs if transaction_scopes.wants(job)]
        if waiting:
            self.held.append((waiting, bulk))
        return [job for job in jobs if job not in waiting]

    def commit(self) -> None:
        self.open = False
        held, self.held = self.held, []
        transaction_scopes.replay(held)

    def rollback(self) -> None:
        self.open, self.held = False, []


@pytest.fixture
def scope() -> Iterator[ManualScope]:
    made = ManualScope()
    transaction_scopes.register(made)
    jobframe.configure(enqueue_after_commit=True)
    try:
        yield made
    finally:
        transaction_scopes.unregister(made)


def _args(jobs: JobsHelper) -> list[object]:
    return [record.args[0] for record in jobs.enqueued_jobs]


def test_a_registered_scope_holds_jobs_until_it_replays_them(
    jobs: JobsHelper, scope: ManualScope
) -> None:
    scope.open = True
    ScopedJob.perform_later(1)
    NeverHeldJob.perform_later(2)
    jobframe.perform_all_later([ScopedJob(3), ScopedJob(4)])
    assert _args(jobs) == [2]
    assert [bulk for _, bulk in scope.held] == [False, True]
    scope.commit()
    assert _args(jobs) == [2, 1, 3, 4]


def test_a_scope_with_no_open_transaction_lets_jobs_through(
    jobs: JobsHelper, scope: ManualScope
) -> None:
    ScopedJob.perform_later(1)
    assert _args(jobs) == [1]


def test_dropped_jobs_are_never_enqueued_and_an_unregistered_scope_is_not_asked(
    jobs: JobsHelper, scope: ManualScope
) -> None:
    scope.open = True
    ScopedJob.perform_later(1)
    scope.rollback()
    jobs.assert_no_enqueued_jobs()
    transaction_scopes.unregister(scope)
    scope.open = True
    ScopedJob.perform_later(2)
    assert _args(jobs) == [2] and scope.held == []
