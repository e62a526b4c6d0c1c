"""An adapter whose backend never answers: every enqueue fails as a refused connection would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import jobframe


class UnreachableAdapter(jobframe.QueueAdapter):
    def enqueue(self, job: Any) -> None:
        raise ConnectionError("connection refused")

    def enqueue_at(self, job: Any, timestamp: datetime) -> None:
        raise ConnectionError("connection refused")

    def enqueue_all(self, jobs: Sequence[Any]) -> int:
        raise ConnectionError("connection refused")
