"""The whole contract a backend implements (DESIGN.md 6.1), typed, one module per concept.

A backend is a `QueueAdapter` (how jobs get in), optionally a `WorkerBackend` (how `jobframe work`
takes them out), an `Inspector` (how the CLI and dashboard see them) and a `RecurringStore` (how
schedulers claim the ticks of recurring tasks), a `ResultStore` (status, results, progress and
batches by ``job_id``), and declares its `Capabilities`. `ids` and
`payload` are the helpers every backend shares: unique provider ids and the stored form of a
payload, read back within bounds.
"""

from jobframe.backend.adapter import QueueAdapter
from jobframe.backend.capabilities import Capabilities
from jobframe.backend.ids import new_id
from jobframe.backend.inspector import (
    STATES,
    HistoryKind,
    Inspector,
    JobInfo,
    QueueInfo,
    State,
    Stats,
    WorkerInfo,
)
from jobframe.backend.payload import PayloadError, check_raw, dump_payload, load_payload
from jobframe.backend.recurring import RecurringRun, RecurringStore
from jobframe.backend.results import (
    FINAL,
    BatchCallback,
    BatchInfo,
    JobRecord,
    JobState,
    JobStatus,
    RecordStatus,
    ResultStore,
)
from jobframe.backend.worker import Claim, Outcome, ProcessInfo, Status, WorkerBackend

__all__ = [
    "FINAL",
    "STATES",
    "BatchCallback",
    "BatchInfo",
    "Capabilities",
    "Claim",
    "HistoryKind",
    "Inspector",
    "JobInfo",
    "JobRecord",
    "JobState",
    "JobStatus",
    "Outcome",
    "PayloadError",
    "ProcessInfo",
    "QueueAdapter",
    "QueueInfo",
    "RecordStatus",
    "RecurringRun",
    "RecurringStore",
    "ResultStore",
    "State",
    "Stats",
    "Status",
    "WorkerBackend",
    "WorkerInfo",
    "check_raw",
    "dump_payload",
    "load_payload",
    "new_id",
]
