"""Jobs of the test app, imported by jobframe's AppConfig (``<app>.jobs`` autodiscovery)."""

from __future__ import annotations

import jobframe

performed: list[tuple[str, object]] = []


class GreetCustomerJob(jobframe.Job):
    def perform(self, customer: object) -> None:
        performed.append(("greet", customer))


class RecordNameJob(jobframe.Job):
    """Writes a row through the ORM: a worker that performs it has Django set up."""

    def perform(self, name: str) -> None:
        import os

        from django_testapp.models import Customer

        Customer.objects.create(name=name, email=f"pid-{os.getpid()}")
