"""`jobframe.backend`: one package holds the whole contract, every member says what it promises,
the abstract bases refuse an incomplete backend, and the old import paths still resolve."""

from __future__ import annotations

import importlib
import inspect

import pytest

import jobframe.backend
from jobframe.backend import Claim, Inspector, Outcome, ProcessInfo, WorkerBackend

OLD_PATHS = {
    "jobframe.queue_adapters.base": ["QueueAdapter"],
    "jobframe.queue_adapters.ids": ["new_id"],
    "jobframe.queue_adapters.payload": [
        "PayloadError",
        "check_raw",
        "dump_payload",
        "load_payload",
    ],
    "jobframe.worker.backend": ["Claim", "Outcome", "ProcessInfo", "WorkerBackend"],
    "jobframe.inspection": ["STATES", "Inspector", "JobInfo", "QueueInfo", "WorkerInfo"],
}


def test_every_exported_member_is_documented() -> None:
    undocumented = []
    for name in jobframe.backend.__all__:
        member = getattr(jobframe.backend, name)
        if inspect.isclass(member) or inspect.isfunction(member):
            if not (member.__doc__ or "").strip():
                undocumented.append(name)
            undocumented += [
                f"{name}.{attribute}"
                for attribute, value in vars(member).items()
                if inspect.isfunction(value)
                and not attribute.startswith("_")
                and not (value.__doc__ or "").strip()
            ]
    assert not undocumented, f"say what a backend must guarantee: {undocumented}"


@pytest.mark.parametrize(("module", "names"), sorted(OLD_PATHS.items()))
def test_the_old_import_paths_give_the_same_objects(module: str, names: list[str]) -> None:
    old = importlib.import_module(module)
    for name in names:
        assert getattr(old, name) is getattr(jobframe.backend, name), f"{module}.{name}"


def test_the_old_registry_path_gives_the_same_registry() -> None:
    from jobframe import registry
    from jobframe.job import registry as old

    assert old.lookup is registry.lookup and old.register is registry.register


class HalfWorkerBackend(WorkerBackend):
    """Everything but ``wake``: a backend that drifted from the contract."""

    def register(self, process: ProcessInfo) -> None: ...
    def heartbeat(self, process_id: str) -> None: ...
    def deregister(self, process_id: str) -> None: ...
    def fetch(self, process_id: str, queues: list[str], limit: int, timeout: float) -> list[Claim]:
        return []

    def complete(self, process_id: str, outcomes: list[Outcome]) -> None: ...
    def release(self, process_id: str, claims: list[Claim]) -> None: ...
    def maintain(self, heartbeat_timeout: float, max_crashes: int) -> dict[str, int]:
        return {}

    def retry_entry(self, job: object, adapter: object) -> None: ...


def test_an_incomplete_worker_backend_cannot_be_created() -> None:
    with pytest.raises(TypeError, match="wake"):
        HalfWorkerBackend()  # type: ignore[abstract]


def test_an_inspector_must_have_history() -> None:
    assert "history" in Inspector.__abstractmethods__
    assert "stats" in Inspector.__abstractmethods__
