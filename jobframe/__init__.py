"""jobframe: Active Job for Python.

Declare jobs by subclassing `Job` and writing ``perform``; enqueue them with ``perform_later``;
retry, discard and call back declaratively; run them on any backend a plugin provides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from jobframe import log_subscriber as _log_subscriber  # noqa: F401 - installs the default logger
from jobframe.backend import QueueAdapter
from jobframe.cancellation import cancel
from jobframe.config import configure, settings
from jobframe.errors import (
    Abort,
    Cancelled,
    ConfigurationError,
    ContinuationError,
    DeserializationError,
    DuplicateJobError,
    EnqueueError,
    Interrupted,
    InvalidOptionError,
    JobDefinitionError,
    JobFailed,
    JobframeError,
    JobTimeout,
    NoResultError,
    RecordNotFound,
    ResultTimeout,
    SerializationError,
    UnknownAdapterError,
    UnknownJobError,
    UnsupportedError,
)
from jobframe.hookspecs import hookimpl
from jobframe.job import ConfiguredJob, Job, aperform_all_later, perform_all_later
from jobframe.job.callbacks import (
    after_discard,
    after_enqueue,
    after_perform,
    around_enqueue,
    around_perform,
    before_enqueue,
    before_perform,
)
from jobframe.job.continuation import Step
from jobframe.job.exceptions import discard_on, polynomially_longer, rescue_from, retry_on
from jobframe.job.flow_control import limits_concurrency, rate_limit, unique
from jobframe.notifications import Event, subscribe
from jobframe.recurrence import recurring
from jobframe.serializers import ObjectSerializer
from jobframe.tracking import job_report, job_result, job_status
from jobframe.tracking.batches import Batch, batch, batch_status
from jobframe.tracking.chains import Chain, chain
from jobframe.transactions import after_commit

if _TYPE_CHECKING:  # imported on first use (see __getattr__); typed for users all the same
    from jobframe.global_id import GlobalID, SignedGlobalID

__version__ = "0.1.0"


def __getattr__(name: str) -> _Any:
    # GlobalID pulls in hmac and friends; load it on first use.
    if name == "GlobalID":
        from jobframe.global_id import GlobalID

        return GlobalID
    if name == "SignedGlobalID":
        from jobframe.global_id import SignedGlobalID

        return SignedGlobalID
    raise AttributeError(f"module 'jobframe' has no attribute {name!r}")


__all__ = [
    "Abort",
    "Batch",
    "Cancelled",
    "Chain",
    "ConfigurationError",
    "ConfiguredJob",
    "ContinuationError",
    "DeserializationError",
    "DuplicateJobError",
    "EnqueueError",
    "Event",
    "GlobalID",
    "Interrupted",
    "InvalidOptionError",
    "Job",
    "JobDefinitionError",
    "JobFailed",
    "JobTimeout",
    "JobframeError",
    "NoResultError",
    "ObjectSerializer",
    "QueueAdapter",
    "RecordNotFound",
    "ResultTimeout",
    "SerializationError",
    "SignedGlobalID",
    "Step",
    "UnknownAdapterError",
    "UnknownJobError",
    "UnsupportedError",
    "__version__",
    "after_commit",
    "after_discard",
    "after_enqueue",
    "after_perform",
    "aperform_all_later",
    "around_enqueue",
    "around_perform",
    "batch",
    "batch_status",
    "before_enqueue",
    "before_perform",
    "cancel",
    "chain",
    "configure",
    "discard_on",
    "hookimpl",
    "job_report",
    "job_result",
    "job_status",
    "limits_concurrency",
    "perform_all_later",
    "polynomially_longer",
    "rate_limit",
    "recurring",
    "rescue_from",
    "retry_on",
    "settings",
    "subscribe",
    "unique",
]
