"""What a backend can do, declared once per adapter class and enforced by the core.

`Capabilities` replaces the old ``supports_*`` class flags. The job layer refuses, at enqueue,
what an adapter declares it cannot do (with `jobframe.UnsupportedError` naming the adapter, the
feature and an adapter that has it), and `jobframe.testing.BackendConformance` runs the tests of
every capability an adapter declares and reports the others as not applicable, by name.
A flag the core does not enforce or the suite does not check does not belong here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Capabilities:
    """The features of one backend. Every field defaults to what the smallest adapter can do."""

    #: ``enqueue_at`` works: ``set(wait=)``/``wait_until=`` and delayed retries are honoured.
    delay: bool = True
    #: Ready jobs are started lowest ``priority`` first.
    priority: bool = True
    #: ``enqueue_all`` writes a whole batch in one round trip.
    bulk: bool = False
    #: An enqueue can join the application's own database transaction (``enqueue_in``).
    transactional_enqueue: bool = False
    #: ``enqueue`` performs the job in the caller (inline): its errors reach the caller as is.
    performs_in_caller: bool = False
    #: ``enqueue_raw`` stores bytes as a ready job.
    raw_payloads: bool = False
    #: Jobs outlive the process that enqueued or ran them: a worker killed with SIGKILL loses
    #: none (the reaper gives its claims back), and other processes can work the queues.
    durable: bool = False
    #: Queues can be paused and resumed.
    pause: bool = False

    def names(self) -> list[str]:
        """The capabilities this backend has, in declaration order."""
        return [f.name for f in fields(self) if getattr(self, f.name)]


__all__ = ["Capabilities"]
