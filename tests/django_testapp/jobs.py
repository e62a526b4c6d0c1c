"""Jobs of the test app, imported by jobframe's AppConfig (``<app>.jobs`` autodiscovery)."""

from __future__ import annotations

import jobframe

performed: list[tuple[str, object]] = []


class GreetCustomerJob(jobframe.Job):
    def perform(self, customer: object) -> None:
        performed.append(("greet", customer))
