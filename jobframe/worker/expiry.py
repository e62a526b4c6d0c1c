"""Expiry: a job whose ``flow.expires_at`` passed before a worker took it is not performed; its
claim is settled as ``expired`` with an ``expire`` event.

The check is made when a thread is about to perform the job. A retry keeps its first enqueue's
``expires_at``, so a retry due after it expires too: the job's result was worthless by then.
"""

from __future__ import annotations

import time
from typing import Any

from jobframe import notifications
from jobframe.backend.worker import Claim, Outcome
from jobframe.worker.middleware import Middleware, Verdict


class Expiry(Middleware):
    def before_perform(self, claim: Claim, job: Any) -> Verdict:
        flow = job.flow
        if flow is None or flow.expires_at is None:
            return None
        late = time.time() - flow.expires_at
        if late <= 0:
            return None
        with notifications.instrument("expire", job, expired_at=flow.expires_at, late=late):
            pass
        return Outcome(claim, "expired", attempts=job.executions)
