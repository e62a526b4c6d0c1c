"""Throttling: a start of a ``@jobframe.rate_limit`` job over its rate is put back for later.

A job with ``flow.rate`` and no reserved start asks the backend for one
(`WorkerBackend.reserve`, shared by every worker). A start due now runs; a later one goes back
to the backend as scheduled at that start (`WorkerBackend.defer`) with the start written in its
payload as ``flow.rate_slot``, with a ``throttle`` event: no attempt is counted. When it comes
back its slot is due and it runs; the slot is cleared from the job before it is performed, so a
retry of it reserves again. A slot older than `STALE` (its workers were down) is no longer a
reservation: the job reserves again, so a backlog does not start all at once.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from jobframe import notifications
from jobframe.backend.payload import dump_payload, load_payload
from jobframe.backend.worker import Claim
from jobframe.worker.middleware import SETTLED, Middleware, Verdict, WorkerContext

#: a start at most this far ahead runs now (a round trip to defer costs more than the wait)
EARLY = 0.005
#: seconds after which a reserved start that was not taken lapses (at least one period)
STALE = 30.0


class Throttling(Middleware):
    def __init__(self) -> None:
        self._worker: WorkerContext | None = None

    def bind(self, worker: WorkerContext) -> None:
        self._worker = worker

    def before_perform(self, claim: Claim, job: Any) -> Verdict:
        flow = job.flow
        if flow is None or flow.rate is None or self._worker is None:
            return None
        now = time.time()
        slot = flow.rate_slot
        if slot is not None and slot - EARLY <= now <= slot + max(STALE, flow.rate.period):
            job.flow = dataclasses.replace(flow, rate_slot=None)  # a retry reserves again
            return None
        backend = self._worker.backend
        start = backend.reserve(flow.rate.key, flow.rate.interval)
        now = time.time()  # after the round trip: a start of "now" there may be later than ours
        if start <= now + EARLY:
            if slot is not None:
                job.flow = dataclasses.replace(flow, rate_slot=None)
            return None
        payload = load_payload(claim.payload, len(claim.payload) + 1)
        payload["flow"] = {**payload["flow"], "rate_slot": start}
        with notifications.instrument(
            "throttle", job, key=flow.rate.key, start=start, wait=start - now
        ):
            backend.defer(self._worker.process_id, claim, start, dump_payload(payload))
        return SETTLED
