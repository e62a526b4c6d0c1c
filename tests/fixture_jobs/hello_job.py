from __future__ import annotations

import jobframe
from fixture_jobs import buffer


class HelloJob(jobframe.Job):
    def perform(self, greeter: str = "David") -> str:
        message = f"{greeter} says hello"
        buffer.append(message)
        return message
