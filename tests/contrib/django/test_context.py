"""Django's language and time zone travel with every job (`jobframe.contrib.django.context`).

The acceptance test of issue 17: a job enqueued under ``fr`` and ``Europe/Paris`` renders, in a
real worker (a thread of this process, and a ``python -m django jobframe work`` process), a French
message (Django's own French catalogue and month and day names) with Paris times, while the test
itself runs under ``en`` and UTC.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from contrib.django.workers import redis_queue, running
from django.db import transaction
from django.test import override_settings
from django.utils import formats, timezone, translation
from django_testapp.models import Customer

import jobframe
from jobframe import plugins, queue_adapters
from jobframe.global_id import locators
from jobframe.testing import JobsHelper
from jobframe.testing.services import require_service
from jobframe.testing.workers import wait_until
from jobframe_redis.adapter import RedisAdapter

TESTS = Path(__file__).resolve().parents[2]

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


class SyncSeenJob(jobframe.Job):
    def perform(self, expected: list[str]) -> None:
        with lock:
            rendered.append({"expected": expected, "seen": list(in_the_test_thread())})


class AsyncSeenJob(jobframe.Job):
    async def perform(self, expected: list[str]) -> None:
        await asyncio.sleep(0.01)  # let the other jobs' tasks run in between
        with lock:
            rendered.append({"expected": expected, "seen": list(in_the_test_thread())})


def test_jobs_of_different_languages_do_not_mix_in_one_worker() -> None:
    places = [("fr", "Europe/Paris"), ("de", "Europe/Berlin"), ("ja", "Asia/Tokyo")]
    with redis_queue("djgid-mix") as adapter:
        for language, zone in places * 2:
            with translation.override(language), timezone.override(ZoneInfo(zone)):
                SyncSeenJob.perform_later([language, zone])
                AsyncSeenJob.perform_later([language, zone])
        with running(adapter):
            wait_until(lambda: len(rendered) == 12, 10, "the worker to perform 12 jobs")

    assert all(r["seen"] == r["expected"] for r in rendered), rendered
    assert in_the_test_thread() == ("en", "UTC")


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


class HeldJob(jobframe.Job):
    enqueue_after_commit = True

    def perform(self) -> None:
        pass


@pytest.mark.usefixtures("django_tables")
def test_a_job_held_for_the_commit_carries_the_context_of_perform_later(jobs: JobsHelper) -> None:
    with transaction.atomic():
        with translation.override("fr"), timezone.override(PARIS):
            held = HeldJob.perform_later()
        with translation.override("de"):
            Customer.objects.create(name="Ann")
        assert jobs.enqueued_jobs == [] and not held.successfully_enqueued
    [record] = jobs.enqueued_jobs  # enqueued by the commit, where nothing is overridden
    assert (record.payload["locale"], record.payload["timezone"]) == ("fr", "Europe/Paris")


@pytest.mark.slow
def test_a_manage_py_worker_process_renders_in_the_enqueuers_language_and_time_zone(
    tmp_path: Path,
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    from django_testapp.jobs import RenderConfirmationJob

    prefix = f"djgid-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "django_testapp.settings",  # LANGUAGE_CODE, TIME_ZONE: defaults
        "PYTHONPATH": str(TESTS),
        "DJANGO_TESTAPP_PREFIX": prefix,
    }
    out = tmp_path / "rendered.json"
    adapter = RedisAdapter("redis://127.0.0.1:6379/0", prefix=prefix)
    worker = None
    try:
        with (
            queue_adapters.override(adapter),
            translation.override("fr"),
            timezone.override(PARIS),
        ):
            RenderConfirmationJob.perform_later(str(out), [WINTER, SUMMER])
        worker = subprocess.Popen(
            [sys.executable, "-m", "django", "jobframe", "work", "--concurrency", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_until(out.exists, 60, "the worker process to perform the job")
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                output, _ = worker.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                output, _ = worker.communicate()
        keys = list(adapter.store.client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            adapter.store.client.delete(*keys)
        adapter.shutdown()

    assert json.loads(out.read_text(encoding="utf-8")) == {
        "text": "Ce champ est obligatoire. lundi 2 février 2026 15:30 CET (+0100) / "
        "mardi 14 juillet 2026 12:00 CEST (+0200)",
        "defaults": ["en-us", "America/Chicago"],  # Django's, the worker's own
    }
    assert worker.returncode == 0, output


def test_the_app_config_installs_the_locator_and_the_context_plugin() -> None:
    from jobframe.contrib.django import apps as jobframe_apps
    from jobframe.contrib.django.context import PLUGIN_NAME, DjangoContext
    from jobframe.contrib.django.global_id import DjangoLocator

    def installed() -> tuple[int, bool]:
        django_locators = [one for one in locators() if isinstance(one, DjangoLocator)]
        plugin = plugins.get_manager().get_plugin(PLUGIN_NAME)
        return len(django_locators), isinstance(plugin, DjangoContext)

    assert installed() == (1, True)
    jobframe_apps.install()
    assert installed() == (1, True), "installing twice registers nothing twice"
    jobframe_apps.uninstall()
    assert installed() == (0, False)
    jobframe_apps.install()  # the fixture uninstalls it again
    assert installed() == (1, True)
