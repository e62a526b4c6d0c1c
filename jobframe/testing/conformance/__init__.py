"""The backend conformance suite: what every backend, ours or a third party's, must do.

A backend's test module subclasses `BackendConformance` and overrides two fixtures: ``adapter``
(its adapter on a store of the test's own) and, for a durable backend, ``harness`` (a
`WorkerHarness` that starts its ``jobframe work`` processes against that store)::

    from jobframe.testing import BackendConformance, WorkerHarness

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def adapter(self):
            adapter = MyAdapter(url=URL, prefix=PREFIX)
            yield adapter
            adapter.shutdown()

        @pytest.fixture
        def harness(self, tmp_path):
            return WorkerHarness(tmp_path, "mybackend", {"url": URL, "prefix": PREFIX})

Tests are gated by the adapter class's ``capabilities`` (`jobframe.backend.Capabilities`), by
``adapter.inspector()`` and ``adapter.worker_backend()``: what a backend does not declare is
reported as "not applicable: ..." in pytest's ``-ra`` summary, never skipped silently. The jobs
it runs live in `jobframe.testing.conformance_jobs` and `jobframe.testing.reliability_jobs`
(every harness worker imports both), and `jobframe.testing.batch_jobs` (the batch tests have the
workers they start import it).
"""

from jobframe.testing.conformance.base import ConformanceBase
from jobframe.testing.conformance.batches import BatchTests
from jobframe.testing.conformance.batches_processes import BatchProcessTests
from jobframe.testing.conformance.chains import ChainTests
from jobframe.testing.conformance.continuations import ContinuationTests
from jobframe.testing.conformance.dashboard import DashboardResultsTests, DashboardTests
from jobframe.testing.conformance.enqueue import SAMPLE_VALUES, EnqueueTests
from jobframe.testing.conformance.faults import FaultTests
from jobframe.testing.conformance.flow import FlowTests
from jobframe.testing.conformance.flow_processes import FlowProcessTests
from jobframe.testing.conformance.harness import WorkerHarness
from jobframe.testing.conformance.inspector import InspectorTests
from jobframe.testing.conformance.load import LoadTests
from jobframe.testing.conformance.outcomes import OutcomeTests
from jobframe.testing.conformance.recurring import RecurringTests
from jobframe.testing.conformance.recurring_processes import RecurringProcessTests
from jobframe.testing.conformance.reliability import ReliabilityTests
from jobframe.testing.conformance.results import ResultTests
from jobframe.testing.conformance.results_processes import ResultProcessTests
from jobframe.testing.conformance.timings import TimingTests


class BackendConformance(
    EnqueueTests,
    OutcomeTests,
    InspectorTests,
    DashboardTests,
    DashboardResultsTests,
    ReliabilityTests,
    FaultTests,
    LoadTests,
    RecurringTests,
    FlowTests,
    RecurringProcessTests,
    FlowProcessTests,
    ContinuationTests,
    ResultProcessTests,
    ResultTests,
    BatchTests,
    ChainTests,
    BatchProcessTests,
    TimingTests,
):
    """Every test of the suite. Subclass it in your backend's tests (see the module's doc)."""


#: The name of the suite before it covered workers and inspectors; the same class.
AdapterConformance = BackendConformance

__all__ = [
    "SAMPLE_VALUES",
    "AdapterConformance",
    "BackendConformance",
    "ConformanceBase",
    "WorkerHarness",
]
