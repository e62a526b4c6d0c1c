"""`jobframe.Job`: the class every job subclasses. Each concern lives in its own module."""

from __future__ import annotations

from typing import ClassVar

from jobframe.job.batching import Batching
from jobframe.job.callbacks import Callbacks
from jobframe.job.configured import Configured
from jobframe.job.context import Contextual
from jobframe.job.continuation import Continuable
from jobframe.job.core import Core
from jobframe.job.enqueuing import Enqueuing
from jobframe.job.exceptions import Exceptions
from jobframe.job.execution import Execution
from jobframe.job.flow_control import FlowControlled
from jobframe.job.instrumentation import Instrumentation
from jobframe.job.logging import Logging
from jobframe.job.queue_adapter import QueueAdapterMixin
from jobframe.job.queue_name import QueueName
from jobframe.job.queue_priority import QueuePriority
from jobframe.job.results import Results


class Job(
    Configured,
    Batching,
    QueueAdapterMixin,
    QueueName,
    QueuePriority,
    Enqueuing,
    Execution,
    Callbacks,
    Exceptions,
    Contextual,
    FlowControlled,
    Continuable,
    Results,
    Instrumentation,
    Logging,
    Core,
):
    """A background job: subclass it, write ``perform``, call ``perform_later``.

    ``abstract = True`` on a subclass makes it a base for other jobs (like Rails'
    ``ApplicationJob``), never registered as runnable.
    """

    abstract: ClassVar[bool] = True
