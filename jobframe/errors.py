"""The exceptions jobframe raises: every one is a `JobframeError`, so one `except` catches all."""

from __future__ import annotations


class JobframeError(Exception):
    """Base class of every error jobframe raises on purpose."""


class SerializationError(JobframeError, TypeError):
    """An argument cannot be written to the wire format (raised at `perform_later`)."""


class DeserializationError(JobframeError):
    """A payload's arguments cannot be read back (its cause says why, e.g. `RecordNotFound`)."""


class RecordNotFound(JobframeError, LookupError):
    """A GlobalID names a row that no longer exists."""


class EnqueueError(JobframeError):
    """The backend could not accept the job; nothing was enqueued."""


class UnknownJobError(JobframeError, LookupError):
    """A payload names a class that is not a registered `jobframe.Job` subclass."""


class ConfigurationError(JobframeError, ValueError):
    """Settings are invalid; the message names the key and where it came from."""


class UnknownAdapterError(ConfigurationError, LookupError):
    """No queue adapter is registered under the requested name."""


class Abort(JobframeError):
    """Raise in a before-callback to halt the enqueue or the perform."""


__all__ = [
    "Abort",
    "ConfigurationError",
    "DeserializationError",
    "EnqueueError",
    "JobframeError",
    "RecordNotFound",
    "SerializationError",
    "UnknownAdapterError",
    "UnknownJobError",
]


class InvalidOptionError(JobframeError, ValueError):
    """A job option (``wait``, ``priority``, ``queue``, ``attempts``...) has an invalid value."""


class JobDefinitionError(JobframeError, TypeError):
    """A job class cannot be used as asked (an abstract job enqueued, no ``perform`` method...)."""


__all__ += ["InvalidOptionError", "JobDefinitionError"]


class UnsupportedError(InvalidOptionError):
    """The job's adapter declares (in its `jobframe.backend.Capabilities`) that it cannot do what
    this enqueue asks: a delay, a priority, raw bytes. Nothing was enqueued. ``adapter`` and
    ``feature`` (a `Capabilities` field name) say which.

    An `InvalidOptionError`, so the ``except`` clauses written before it existed still apply.
    """

    def __init__(self, message: str, adapter: str, feature: str) -> None:
        super().__init__(message)
        self.adapter = adapter
        self.feature = feature


__all__ += ["UnsupportedError"]


class DuplicateJobError(EnqueueError):
    """``@jobframe.unique``: an equal job (same class and key) is already waiting (or running),
    so this one was not enqueued. ``key`` is the lock's name in the backend."""

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


class JobTimeout(TimeoutError, JobframeError):
    """A job ran longer than its ``timeout`` (or the worker's ``--job-timeout``); raised in the
    job, so ``retry_on``/``discard_on``/``rescue_from`` handle it like any error."""


class Cancelled(JobframeError):
    """`jobframe.cancel` asked this running job to stop: raised at its next checkpoint."""


__all__ += ["Cancelled", "DuplicateJobError", "JobTimeout"]


class Interrupted(BaseException):
    """Internal: raised at a checkpoint of a continuation (``self.step``) when its worker must
    stop it (a graceful shutdown, the job's time limit). The worker re-enqueues the job at once
    with its finished steps and cursor; no attempt is counted and no record written.

    A `BaseException`, like `KeyboardInterrupt`, not a `JobframeError`: an ``except Exception``
    in the job (around a row's handling, say) must not swallow it, and ``retry_on``,
    ``discard_on`` and ``rescue_from`` never see it. Never catch it in a job.
    """

    def __init__(self, message: str, reason: str = "stopping") -> None:
        super().__init__(message)
        #: ``"stopping"`` (the worker shuts down) or ``"time limit"``
        self.reason = reason


class ContinuationError(JobframeError):
    """A continuation's steps are used wrongly: a step name repeated in one perform, steps in a
    different order than the run being resumed, a step nested in another, a cursor that cannot
    advance. The message names the fix."""


__all__ += ["ContinuationError", "Interrupted"]


class JobFailed(JobframeError):
    """``job.result()`` / `jobframe.job_result` of a job that ended without a result: it failed
    (no retry follows), went dead, was discarded or cancelled. ``status`` says which;
    ``error_class``, ``message`` and ``traceback`` are the error as the worker recorded it
    (None when none was recorded, e.g. a job cancelled before it ran)."""

    def __init__(
        self,
        job_id: str,
        status: str,
        error_class: str | None = None,
        message: str | None = None,
        traceback: str | None = None,
    ) -> None:
        detail = f": {error_class}: {message}" if error_class else ""
        super().__init__(f"job {job_id} {status}{detail}")
        self.job_id = job_id
        self.status = status
        self.error_class = error_class
        self.message = message
        self.traceback = traceback


class ResultTimeout(JobframeError, TimeoutError):
    """The job had not finished within ``result(timeout=)`` (or had not finished at all, when
    ``timeout`` is None: then nothing waits)."""


class NoResultError(JobframeError):
    """The result was asked of a job that keeps none: its class does not set
    ``store_result = True`` (nor was it enqueued with ``set(store_result=True)``)."""


__all__ += ["JobFailed", "NoResultError", "ResultTimeout"]
