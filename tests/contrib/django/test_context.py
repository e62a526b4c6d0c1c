"""Django's language and time zone travel with every job (`jobframe.contrib.django.context`).

The acceptance test of issue 17: a job enqueued under ``fr`` and ``Europe/Paris`` renders, in a
real worker, a French message (Django's own French catalogue and month and day names) with Paris
times, while the test itself runs under ``en`` and UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from contrib.django.workers import redis_queue, running
from django.test import override_settings
from django.utils import formats, timezone, translation
from django_testapp.models import Customer

import jobframe
from jobframe.testing import JobsHelper
from jobframe.testing.workers import wait_until

WINTER = datetime(2026, 2, 2, 14, 30, tzinfo=UTC)
SUMMER = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")

rendered: list[dict[str, Any]] = []
lock = threading.Lock()


@pytest.fixture(autouse=True)
def _clear() -> Iterator[None]:
    rendered.clear()
    yield
    rendered.clear()


def render(customer: Customer, times: list[datetime]) -> str:
    """A confirmation from Django's own translations: a catalogue string, day and month names,
    and times in the current time zone with its abbreviation and offset."""
    shown = [formats.date_format(timezone.localtime(t), "l j F Y H:i T (O)") for t in times]
    return f"{customer.name}: {translation.gettext('This field is required.')} {' / '.join(shown)}"


class ConfirmationJob(jobframe.Job):
    @jobframe.before_perform
    def note_language(self) -> None:
        with lock:
            rendered.append({"before_perform": translation.get_language()})

    def perform(self, customer: Customer, times: list[datetime]) -> None:
        with lock:
            rendered.append(
                {
                    "text": render(customer, times),
                    "language": translation.get_language(),
                    "timezone": timezone.get_current_timezone_name(),
                }
            )


def in_the_test_thread() -> tuple[str | None, str]:
    return translation.get_language(), timezone.get_current_timezone_name()


@pytest.mark.usefixtures("django_tables")
def test_a_job_enqueued_in_french_for_paris_renders_french_and_paris_times_in_a_worker() -> None:
    ann = Customer.objects.create(name="Ann", language="fr")
    assert in_the_test_thread() == ("en", "UTC")
    with redis_queue("djgid-i18n") as adapter:
        with translation.override("fr"), timezone.override(PARIS):
            job = ConfirmationJob.perform_later(ann, [WINTER, SUMMER])
        payload = job.serialize()
        assert (payload["locale"], payload["timezone"]) == ("fr", "Europe/Paris")

        with running(adapter):
            wait_until(lambda: len(rendered) == 2, 10, f"the worker to perform {job.job_id}")

    assert rendered[0] == {"before_perform": "fr"}
    assert rendered[1] == {
        "text": "Ann: Ce champ est obligatoire. lundi 2 février 2026 15:30 CET (+0100) / "
        "mardi 14 juillet 2026 12:00 CEST (+0200)",
        "language": "fr",
        "timezone": "Europe/Paris",
    }
    # The same job rendered here, where nothing is overridden: English and UTC.
    assert in_the_test_thread() == ("en", "UTC")
    assert render(ann, [WINTER]) == (
        "Ann: This field is required. Monday 2 February 2026 14:30 UTC (+0000)"
    )


def test_language_and_time_zone_are_applied_by_the_test_adapter_too(jobs: JobsHelper) -> None:
    with translation.override("de"), timezone.override(ZoneInfo("Asia/Tokyo")):
        TimeZoneJob.perform_later()
    with override_settings(USE_I18N=False):
        TimeZoneJob.perform_later()
    first, second = (record.payload for record in jobs.enqueued_jobs)
    assert (first["locale"], first["timezone"]) == ("de", "Asia/Tokyo")
    assert (second["locale"], second["timezone"]) == (None, "UTC"), "no language without i18n"

    jobs.perform_enqueued_jobs()

    assert [r["seen"] for r in rendered] == [("de", "Asia/Tokyo"), ("en", "UTC")]
    assert in_the_test_thread() == ("en", "UTC")


class TimeZoneJob(jobframe.Job):
    def perform(self) -> None:
        rendered.append({"seen": in_the_test_thread()})


@jobframe.discard_on(jobframe.DeserializationError)
class DiscardedTimeZoneJob(jobframe.Job):
    @jobframe.after_discard
    def discarded(self, exc: BaseException) -> None:
        rendered.append({"discarded": str(exc)})

    def perform(self) -> None:
        rendered.append({"performed": True})


def test_an_unknown_time_zone_in_a_payload_is_a_deserialization_error(jobs: JobsHelper) -> None:
    job = DiscardedTimeZoneJob()
    job.timezone = "Mars/Olympus_Mons"
    job.enqueue()

    jobs.perform_enqueued_jobs()

    [outcome] = rendered
    assert "jobframe plugin 'jobframe.contrib.django.context' could not apply" in str(outcome)
    assert "Mars/Olympus_Mons" in outcome["discarded"]
