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


class RenderConfirmationJob(jobframe.Job):
    """Renders a message with Django's own translations (a catalogue string, day and month names)
    and times in the current time zone, and writes it to ``path`` as JSON with the worker's own
    defaults: the context tests read what a worker process rendered."""

    def perform(self, path: str, times: list[object]) -> None:
        import json
        import os

        from django.conf import settings
        from django.utils import formats, timezone, translation

        shown = [formats.date_format(timezone.localtime(t), "l j F Y H:i T (O)") for t in times]
        text = f"{translation.gettext('This field is required.')} {' / '.join(shown)}"
        data = {"text": text, "defaults": [settings.LANGUAGE_CODE, settings.TIME_ZONE]}
        with open(f"{path}.tmp", "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)
        os.replace(f"{path}.tmp", path)  # whole, for the test that polls for it
