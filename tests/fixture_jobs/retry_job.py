"""A job that fails ``failures`` times with the named error, then succeeds."""

from __future__ import annotations

from datetime import timedelta

import jobframe
from fixture_jobs import buffer


class DefaultsError(Exception):
    pass


class ShortWaitError(Exception):
    pass


class JitterError(Exception):
    pass


class PolynomialError(Exception):
    pass


class CallableWaitError(Exception):
    pass


class UnlimitedError(Exception):
    pass


class RequeueError(Exception):
    pass


class DiscardableError(Exception):
    pass


class RescuedError(Exception):
    pass


class UnhandledError(Exception):
    pass


ERRORS: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (DefaultsError, ShortWaitError, JitterError, PolynomialError, CallableWaitError,
                UnlimitedError, RequeueError, DiscardableError, RescuedError, UnhandledError)
}  # fmt: skip


@jobframe.retry_on(DefaultsError)
@jobframe.retry_on(ShortWaitError, wait=timedelta(seconds=2), attempts=3, jitter=0)
@jobframe.retry_on(JitterError, wait=10, attempts=3, jitter=0.5)
@jobframe.retry_on(PolynomialError, wait=jobframe.polynomially_longer, attempts=4)
@jobframe.retry_on(CallableWaitError, wait=lambda executions: executions * 10, attempts=3)
@jobframe.retry_on(UnlimitedError, wait=1, attempts="unlimited")
@jobframe.retry_on(RequeueError, queue="retries", priority=1, attempts=2)
@jobframe.discard_on(DiscardableError)
class RetryJob(jobframe.Job):
    def perform(self, raising: str, failures: int) -> str:
        buffer.append(f"execution {self.executions}")
        if self.executions <= failures:
            raise ERRORS[raising](f"failure {self.executions}")
        return "done"

    @jobframe.rescue_from(RescuedError)
    def rescued(self, exc: BaseException) -> None:
        buffer.append(f"rescued {exc}")

    @jobframe.after_discard
    def discarded(self, exc: BaseException) -> None:
        buffer.append(f"discarded {type(exc).__name__}: {exc}")
