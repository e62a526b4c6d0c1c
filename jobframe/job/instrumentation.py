"""Emits the job's instrumentation events (the subscribers decide what to do with them)."""

from __future__ import annotations

from typing import Any

from jobframe.notifications import has_subscribers, instrument


class Instrumentation:
    """``self._instrument("perform")`` times a block and publishes an `Event` for this job."""

    def _instrument(self, name: str, adapter: Any = None, **payload: Any) -> instrument:
        if adapter is None and has_subscribers(name):
            adapter = self._current_adapter()
        return instrument(name, self, adapter, **payload)

    def _current_adapter(self) -> Any:
        try:
            return type(self).adapter()  # type: ignore[attr-defined]
        except Exception:  # an unconfigured adapter must not break a job that is running
            return None
