"""Emits the job's instrumentation events (the subscribers decide what to do with them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jobframe import notifications
from jobframe.notifications import Event


class Instrumentation:
    """``self._instrument("perform")`` times a block and publishes an `Event` for this job."""

    @contextmanager
    def _instrument(self, name: str, adapter: Any = None, **payload: Any) -> Iterator[Event]:
        if adapter is None and notifications.has_subscribers(name):
            adapter = self._current_adapter()
        with notifications.instrument(name, job=self, adapter=adapter, **payload) as event:
            yield event

    def _current_adapter(self) -> Any:
        try:
            return type(self).adapter()  # type: ignore[attr-defined]
        except Exception:  # an unconfigured adapter must not break a job that is running
            return None
