"""The registry of runnable job classes.

A payload names its job class by a string; workers resolve that string here and nowhere else, so a
payload can never make a process import a module or call anything that is not a `jobframe.Job`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from jobframe.errors import UnknownJobError

if TYPE_CHECKING:
    from jobframe.job.base import Job

_lock = threading.Lock()
_classes: dict[str, type[Job]] = {}


def name_of(cls: type) -> str:
    """The wire name of a job class: ``module.QualName`` unless the class sets ``job_name``."""
    explicit = cls.__dict__.get("job_name")
    if isinstance(explicit, str) and explicit:
        return explicit
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type[Job]) -> None:
    """Record a concrete job class under its wire name (called by ``Job.__init_subclass__``)."""
    name = name_of(cls)
    with _lock:
        _classes[name] = cls


def unregister(cls: type[Job]) -> None:
    with _lock:
        if _classes.get(name_of(cls)) is cls:
            del _classes[name_of(cls)]


def lookup(name: object) -> type[Job]:
    """The job class registered as ``name``.

    Raises:
        UnknownJobError: nothing is registered under that name. Nothing is imported to find it.
    """
    if isinstance(name, str):
        cls = _classes.get(name)
        if cls is not None:
            return cls
    shown = repr(name)
    shown = shown if len(shown) <= 200 else shown[:197] + "..."
    raise UnknownJobError(
        f"{shown} is not a registered jobframe.Job subclass. Import the module that defines it "
        "in the worker (the `imports` setting or `jobframe work app.jobs`); payloads can only "
        "name job classes that have been imported."
    )


def registered() -> dict[str, type[Job]]:
    """A copy of the registry: wire name -> class."""
    with _lock:
        return dict(_classes)
