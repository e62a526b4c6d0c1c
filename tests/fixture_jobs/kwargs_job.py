from __future__ import annotations

from typing import Any

import jobframe
from fixture_jobs import buffer


class KwargsJob(jobframe.Job):
    def perform(self, argument: Any, *, flag: bool = False) -> tuple[Any, bool]:
        buffer.append(f"{argument!r} flag={flag}")
        return argument, flag
