"""What a type checker sees of the public API: the job's own type back, never `Any`.

Not run by pytest: ``mypy --strict`` checks this file in ``scripts/test``. Each `assert_type`
fails the type check if the API's declared type drifts (to `Any`, or to the base `Job`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, assert_type

from sqlalchemy import Connection

import jobframe
import jobframe_redis
import jobframe_sql
from jobframe.backend import Capabilities, Inspector, Stats, WorkerBackend
from jobframe.global_id import SignedGlobalID


class ApplicationJob(jobframe.Job):
    abstract = True


class SendWelcomeEmailJob(ApplicationJob):
    def perform(self, user_id: int, *, locale: str = "en") -> str:
        return f"{user_id}:{locale}"


class FetchJob(jobframe.Job):
    async def perform(self, url: str) -> int:
        return len(url)


def check_jobs(payload: dict[str, Any]) -> None:
    assert_type(SendWelcomeEmailJob.perform_later(1, locale="fr"), SendWelcomeEmailJob)
    configured = SendWelcomeEmailJob.set(wait=timedelta(hours=1), queue="urgent")
    assert_type(configured, jobframe.ConfiguredJob[SendWelcomeEmailJob])
    assert_type(configured.set(priority=1), jobframe.ConfiguredJob[SendWelcomeEmailJob])
    assert_type(configured.perform_later(1), SendWelcomeEmailJob)
    assert_type(SendWelcomeEmailJob(1).set(queue="low"), SendWelcomeEmailJob)
    assert_type(SendWelcomeEmailJob(1).enqueue(), SendWelcomeEmailJob)
    # perform_now gives what perform returned; None when a callback halted the job or
    # retry_on / discard_on / rescue_from took its error.
    assert_type(SendWelcomeEmailJob.perform_now(1), str | None)
    assert_type(SendWelcomeEmailJob(1).perform_now(), str | None)
    assert_type(FetchJob.perform_now("https://example.com"), int | None)
    assert_type(SendWelcomeEmailJob.deserialize(payload), SendWelcomeEmailJob)
    assert_type(jobframe.Job.deserialize(payload), jobframe.Job)
    loaded = SendWelcomeEmailJob.deserialize(payload)
    assert_type(loaded.locale, str | None)
    assert_type(loaded.timezone, str | None)
    assert_type(loaded.captured_context, dict[str, Any] | None)
    assert_type(loaded.job_context(), dict[str, Any])


async def check_async_enqueue() -> None:
    assert_type(await SendWelcomeEmailJob.aperform_later(1), SendWelcomeEmailJob)
    assert_type(await SendWelcomeEmailJob.set(queue="q").aperform_later(1), SendWelcomeEmailJob)


def check_lazy_names(model: object) -> None:
    assert_type(jobframe.GlobalID.create(model), jobframe.GlobalID)
    assert_type(jobframe.GlobalID.parse("gid://shop/User/1"), jobframe.GlobalID | None)
    assert_type(jobframe.SignedGlobalID, type[SignedGlobalID])
    assert_type(
        jobframe_redis.RedisAdapter("redis://127.0.0.1:6379/0"), jobframe_redis.RedisAdapter
    )
    assert_type(jobframe_sql.SQLAdapter, type[jobframe_sql.SQLAdapter])


def check_enqueue_in(session: object) -> None:
    with jobframe_sql.enqueue_in(session) as connection:
        assert_type(connection, Connection)


def check_backend_contract(
    redis: jobframe_redis.RedisAdapter, sql: jobframe_sql.SQLAdapter, any: jobframe.QueueAdapter
) -> None:
    assert_type(redis.worker_backend(), jobframe_redis.RedisWorkerBackend)
    assert_type(redis.inspector(), jobframe_redis.RedisInspector)
    assert_type(sql.inspector().stats(), Stats)
    assert_type(any.worker_backend(), WorkerBackend | None)
    assert_type(any.inspector(), Inspector | None)
    assert_type(any.capabilities, Capabilities)
    assert_type(any.capabilities.delay, bool)
    assert_type(jobframe.UnsupportedError("no", "inline", "delay").feature, str)
