"""A job's context (`jobframe.job.context`): captured by plugins at enqueue, applied around perform
and every callback and handler, on each execution path. The plugin here is plain contextvars."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

import jobframe
from jobframe import plugins, queue_adapters
from jobframe.hookspecs import hookimpl
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing import JobsHelper

tenant: ContextVar[str | None] = ContextVar("tenant", default=None)
seen: list[tuple[str, str | None]] = []


@contextlib.contextmanager
def setting(var: ContextVar[Any], value: Any) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


class TenantPlugin:
    """Carries the ``tenant`` context variable with every job, as a multi-tenant app would."""

    def __init__(self) -> None:
        self.applied: list[Mapping[str, Any]] = []

    @hookimpl
    def jobframe_current_context(self) -> Mapping[str, Any] | None:
        value = tenant.get()
        return None if value is None else {"tenant": value}

    @hookimpl
    def jobframe_apply_context(
        self, context: Mapping[str, Any]
    ) -> contextlib.AbstractContextManager[Any] | None:
        self.applied.append(dict(context))
        value = context.get("tenant")
        return None if value is None else setting(tenant, value)


@pytest.fixture
def plugin() -> Iterator[TenantPlugin]:
    with plugins.fresh_manager():
        found = TenantPlugin()
        plugins.register_plugin(found, name="tenant")
        seen.clear()
        yield found


def note(where: str) -> None:
    seen.append((where, tenant.get()))


class TenantJob(jobframe.Job):
    @jobframe.before_perform
    def before(self) -> None:
        note("before")

    @jobframe.around_perform
    def around(self) -> Iterator[None]:
        note("around")
        yield

    @jobframe.after_perform
    def after(self) -> None:
        note("after")

    def perform(self, label: str) -> str | None:
        note(label)
        return tenant.get()


def _retry_wait(executions: int) -> float:
    note(f"retry wait {executions}")
    return 0


@jobframe.retry_on(ValueError, wait=_retry_wait, attempts=2)
@jobframe.discard_on(KeyError, jobframe.DeserializationError)
class FailingTenantJob(jobframe.Job):
    @jobframe.after_discard
    def discarded(self, exc: BaseException) -> None:
        note(f"after_discard {type(exc).__name__}")

    def perform(self, error: str) -> None:
        note("perform")
        raise {"value": ValueError, "key": KeyError}[error]("boom")


def test_captured_at_enqueue_and_applied_around_perform_and_callbacks(
    plugin: TenantPlugin, jobs: JobsHelper
) -> None:
    with setting(tenant, "acme"):
        TenantJob.perform_later("perform")
    assert jobs.enqueued_jobs[0].payload["context"] == {"tenant": "acme"}
    assert tenant.get() is None

    jobs.perform_enqueued_jobs()

    assert seen == [("before", "acme"), ("around", "acme"), ("perform", "acme"), ("after", "acme")]
    assert plugin.applied == [{"tenant": "acme"}]
    assert tenant.get() is None, "the context is left again after the job"


def test_retry_and_discard_handlers_run_inside_the_context(
    plugin: TenantPlugin, jobs: JobsHelper
) -> None:
    with setting(tenant, "acme"):
        FailingTenantJob.perform_later("value")
        FailingTenantJob.perform_later("key")
    with pytest.raises(ValueError, match="boom"):  # the retry's second attempt fails for good
        jobs.perform_enqueued_jobs()

    assert ("retry wait 1", "acme") in seen
    assert ("after_discard KeyError", "acme") in seen
    assert [who for _, who in seen] == ["acme"] * len(seen)
    retried = [r for r in jobs.performed_jobs if r.payload["executions"] == 1]
    assert retried and all(r.payload["context"] == {"tenant": "acme"} for r in retried)


def test_a_job_without_context_applies_nothing(plugin: TenantPlugin, jobs: JobsHelper) -> None:
    job = TenantJob.perform_later("perform")
    assert "context" not in jobs.enqueued_jobs[0].payload
    assert job.locale is None and job.timezone is None and job.captured_context is None

    jobs.perform_enqueued_jobs()

    assert plugin.applied == [], "no hook is called for a job that carries nothing"
    assert ("perform", None) in seen


class LocalePlugin:
    def __init__(self, found: dict[str, Any], events: list[str] | None = None) -> None:
        self.found = found
        self.events = [] if events is None else events

    @hookimpl
    def jobframe_current_context(self) -> Mapping[str, Any] | None:
        return self.found

    @hookimpl
    def jobframe_apply_context(self, context: Mapping[str, Any]) -> Any:
        name = self.found.get("name", "locale")

        @contextlib.contextmanager
        def applied() -> Iterator[None]:
            self.events.append(f"enter {name} {context['locale']}")
            yield
            self.events.append(f"exit {name}")

        return applied()


def test_locale_and_timezone_use_their_payload_fields(jobs: JobsHelper) -> None:
    with plugins.fresh_manager():
        plugins.register_plugin(
            LocalePlugin({"locale": "fr", "timezone": "Europe/Paris", "region": "eu"}), name="l10n"
        )
        TenantJob.perform_later("perform")
        explicit = TenantJob("perform")
        explicit.locale = "de"
        explicit.enqueue()

    first, second = (record.payload for record in jobs.enqueued_jobs)
    assert (first["locale"], first["timezone"], first["context"]) == (
        "fr",
        "Europe/Paris",
        {"region": "eu"},
    )
    assert second["locale"] == "de", "a locale set on the job before enqueue wins"
    loaded = jobframe.Job.deserialize(first)
    assert loaded.job_context() == {"locale": "fr", "timezone": "Europe/Paris", "region": "eu"}


def test_several_plugins_merge_and_nest_first_outermost(jobs: JobsHelper) -> None:
    events: list[str] = []
    outer = LocalePlugin({"locale": "fr", "name": "outer", "shared": "outer's"}, events)
    inner = LocalePlugin({"locale": "it", "name": "inner", "shared": "inner's", "x": 1}, events)
    with plugins.fresh_manager():
        plugins.register_plugin(outer, name="outer")
        plugins.register_plugin(inner, name="inner")
        TenantJob.perform_later("perform")
        payload = jobs.enqueued_jobs[0].payload
        assert payload["locale"] == "fr", "a key two plugins capture keeps the first one's value"
        assert payload["context"] == {"name": "outer", "shared": "outer's", "x": 1}

        jobs.perform_enqueued_jobs()

    # both get the same merged context; the first plugin's manager is entered first, left last
    assert events == ["enter outer fr", "enter inner fr", "exit inner", "exit outer"]


class RaisingPlugin:
    def __init__(self, capture: Any = None, apply: BaseException | None = None) -> None:
        self.capture, self.apply = capture, apply

    @hookimpl
    def jobframe_current_context(self) -> Any:
        if isinstance(self.capture, BaseException):
            raise self.capture
        return self.capture

    @hookimpl
    def jobframe_apply_context(self, context: Mapping[str, Any]) -> Any:
        if self.apply is not None:
            raise self.apply
        return None


@pytest.mark.parametrize(
    ("captured", "message"),
    [
        ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, r"'faulty'.*'when' holds a datetime"),
        ({"locale": 5}, r"'faulty'.*'locale' must be a string"),
        ({3: "x"}, r"'faulty'.*keys must be strings"),
        (["locale", "fr"], r"'faulty'.*must return a mapping"),
        (RuntimeError("no request"), r"'faulty' failed capturing.*RuntimeError: no request"),
    ],
)
def test_a_bad_capture_fails_perform_later_naming_plugin_and_key(
    jobs: JobsHelper, captured: Any, message: str
) -> None:
    with plugins.fresh_manager():
        plugins.register_plugin(RaisingPlugin(capture=captured), name="faulty")
        with pytest.raises(jobframe.SerializationError, match=message):
            TenantJob.perform_later("perform")
    assert jobs.enqueued_jobs == []


def test_a_failing_apply_hook_fails_the_job_naming_the_plugin(
    plugin: TenantPlugin, jobs: JobsHelper
) -> None:
    with setting(tenant, "acme"):
        TenantJob.perform_later("perform")
        FailingTenantJob.perform_later("key")
    plugins.register_plugin(RaisingPlugin(apply=LookupError("Mars/Base")), name="tz")

    with pytest.raises(jobframe.DeserializationError, match=r"'tz' could not apply.*Mars/Base"):
        jobs.perform_enqueued_jobs(only=TenantJob)
    assert ("perform", "acme") not in seen, "a job whose context cannot be restored does not run"
    assert tenant.get() is None, "the tenant plugin's context, entered first, was left again"

    jobs.perform_enqueued_jobs(only=FailingTenantJob)  # its discard_on takes the error
    assert seen == [("after_discard DeserializationError", None)]


def test_perform_all_later_set_and_held_jobs_capture_at_enqueue(
    plugin: TenantPlugin, jobs: JobsHelper, tmp_path: Path
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path}/app.sqlite3")
    try:
        with setting(tenant, "bulk"):
            jobframe.perform_all_later([TenantJob("a"), TenantJob("b")])
        with setting(tenant, "set"):
            TenantJob.set(queue="urgent", priority=3).perform_later("c")
        with sessionmaker(engine)() as session, jobframe.after_commit(session):
            session.execute(sa.text("CREATE TABLE t (id INTEGER)"))
            with setting(tenant, "held"):
                held = TenantJob.perform_later("d")
            with setting(tenant, "at commit"):
                assert not held.successfully_enqueued
                session.commit()
    finally:
        engine.dispose()

    contexts = [record.payload["context"]["tenant"] for record in jobs.enqueued_jobs]
    assert contexts == ["bulk", "bulk", "set", "held"]


class AsyncTenantJob(jobframe.Job):
    async def perform(self, label: str) -> None:
        await asyncio.sleep(0)
        note(label)


def test_the_async_adapter_applies_it_in_its_worker_for_sync_and_async_jobs(
    plugin: TenantPlugin,
) -> None:
    adapter = AsyncAdapter(concurrency=2)
    try:
        with queue_adapters.override(adapter):
            with setting(tenant, "acme"):
                TenantJob.perform_later("sync")
                AsyncTenantJob.perform_later("async")
            assert adapter.wait_idle(10)
    finally:
        adapter.shutdown(timeout=5)
    assert ("sync", "acme") in seen and ("async", "acme") in seen


def test_perform_now_of_a_deserialized_job_applies_it(plugin: TenantPlugin) -> None:
    with queue_adapters.override(queue_adapters.lookup("test")), setting(tenant, "acme"):
        job = TenantJob.perform_later("now")
    copy = jobframe.Job.deserialize(job.serialize())
    assert copy.perform_now() == "acme"
    assert asyncio.run(copy.perform_now_async()) == "acme"
    assert TenantJob.perform_now("fresh") is None, "a job never enqueued carries nothing"


@pytest.mark.parametrize(
    ("field", "value"),
    [("context", ["tenant", "acme"]), ("context", {1: "x"}), ("locale", 5), ("timezone", [])],
)
def test_a_malformed_context_in_a_payload_is_a_deserialization_error(
    jobs: JobsHelper, field: str, value: Any
) -> None:
    payload = TenantJob("x").serialize()
    payload[field] = value
    with pytest.raises(jobframe.DeserializationError, match=f"'{field}' must be"):
        jobframe.Job.deserialize(payload)


class NoArgumentsPlugin:
    """An apply hook may declare fewer arguments than the hook offers, as pluggy allows."""

    @hookimpl
    def jobframe_current_context(self) -> Mapping[str, Any]:
        return {"marker": 1}

    @hookimpl
    def jobframe_apply_context(self) -> contextlib.AbstractContextManager[None]:
        return setting(tenant, "from a hook without arguments")


def test_an_apply_hook_may_take_no_arguments(jobs: JobsHelper) -> None:
    seen.clear()
    with plugins.fresh_manager():
        plugins.register_plugin(NoArgumentsPlugin(), name="bare")
        TenantJob.perform_later("perform")
        jobs.perform_enqueued_jobs()
    assert ("perform", "from a hook without arguments") in seen


class FailsOnExitPlugin:
    @hookimpl
    def jobframe_current_context(self) -> Mapping[str, Any]:
        return {"marker": 1}

    @hookimpl
    def jobframe_apply_context(self) -> contextlib.AbstractContextManager[None]:
        @contextlib.contextmanager
        def applied() -> Iterator[None]:
            yield
            raise RuntimeError("could not flush the tenant's audit log")

        return applied()


class BoomJob(jobframe.Job):
    def perform(self) -> None:
        raise ValueError("boom")


def test_a_failure_leaving_the_context_names_the_plugin(jobs: JobsHelper) -> None:
    with plugins.fresh_manager():
        plugins.register_plugin(FailsOnExitPlugin(), name="audit")
        TenantJob.perform_later("perform")
        with pytest.raises(jobframe.JobframeError, match=r"'audit' failed leaving.*audit log"):
            jobs.perform_enqueued_jobs(only=TenantJob)
        BoomJob.perform_later()  # the job's own error passes through unchanged
        with pytest.raises(ValueError, match="boom"):
            jobs.perform_enqueued_jobs()


def test_the_inline_adapter_applies_it_once_in_the_caller(plugin: TenantPlugin) -> None:
    with queue_adapters.override(queue_adapters.lookup("inline")), setting(tenant, "acme"):
        TenantJob.perform_later("inline")
    assert ("inline", "acme") in seen
    assert plugin.applied == [{"tenant": "acme"}]
