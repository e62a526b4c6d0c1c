"""The flow control every worker runs (`jobframe.backend.flow`): expiry, throttling,
cancellation of running jobs and time limits, as `Middleware`.

Throttling and cancel polling are plugged in only for a backend that declares it implements their
`WorkerBackend` methods (``throttles``, ``cancels``): a backend without them is never asked.
"""

from __future__ import annotations

from jobframe.backend.worker import WorkerBackend
from jobframe.worker.cancelling import Cancelling
from jobframe.worker.expiry import Expiry
from jobframe.worker.middleware import Middleware
from jobframe.worker.throttling import Throttling
from jobframe.worker.time_limits import TimeLimits


def flow_middleware(
    backend: WorkerBackend, job_timeout: float | None, timeout_grace: float
) -> list[Middleware]:
    """The built-in middleware for a worker on ``backend``, in the order they act.

    Parameters:
        job_timeout: ``--job-timeout``: no job runs longer (a class's ``timeout`` may be less).
        timeout_grace: seconds a thread job gets to stop after its `JobTimeout` before the
            process is recycled.
    """
    middleware: list[Middleware] = [Expiry()]
    if backend.throttles:
        middleware.append(Throttling())
    if backend.cancels:
        middleware.append(Cancelling())
    middleware.append(TimeLimits(job_timeout, timeout_grace))
    return middleware
