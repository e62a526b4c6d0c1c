"""Which backend a job class uses: the configured adapter, or ``queue_adapter = "inline"``."""

from __future__ import annotations

from typing import ClassVar

from jobframe import queue_adapters
from jobframe.backend.adapter import QueueAdapter


class QueueAdapterMixin:
    """``queue_adapter`` on a class overrides the configured adapter for that class."""

    queue_adapter: ClassVar[str | QueueAdapter | None] = None

    @classmethod
    def adapter(cls) -> QueueAdapter:
        """The adapter instance this class's jobs are enqueued with now."""
        return queue_adapters.get(cls.queue_adapter)
