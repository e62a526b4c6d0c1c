"""A job as its own handle (DESIGN.md 6.4): ``job.status()``, ``job.result(timeout=)``,
``await job.aresult(timeout=)``, and ``self.progress(fraction, message)`` inside ``perform``.

``store_result = True`` (on the class, or ``set(store_result=True)`` for one enqueue) keeps what
``perform`` returns for ``result_ttl`` (default one day), serialized like job arguments; a value
that cannot be serialized fails the job. Every finished job keeps a record of how it ended
(status, error, times) for the ``history_ttl`` setting (default one day) either way.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from jobframe.errors import InvalidOptionError, NoResultError
from jobframe.job.configured import wait_seconds

if TYPE_CHECKING:
    from jobframe.backend.results import JobStatus
    from jobframe.tracking.progress import Progress

#: how a job's error handling took an error: ``discard_on`` dropped the job, ``retry_on``
#: scheduled another attempt (the record says so instead of ``succeeded``)
Handled = Literal["discarded", "retrying"]
#: `Results._returned` of a job whose ``perform`` has not returned
UNSET: Any = object()


class Results:
    """Status, stored result and progress of a job, read through its adapter's `ResultStore`."""

    #: keep what ``perform`` returns, for ``job.result()`` and `jobframe.job_result`
    store_result: ClassVar[bool] = False
    #: how long a stored result is kept (a timedelta or seconds)
    result_ttl: ClassVar[timedelta | float] = timedelta(days=1)

    job_id: str
    # Per-enqueue options (``set(store_result=, result_ttl=)``), carried in the payload.
    _store_result_option: bool | None = None
    _result_ttl_option: float | None = None
    #: set by the worker (or in-process adapter) while the job performs: where progress goes
    _progress: Progress | None = None
    #: set by ``discard_on`` / ``retry_on`` when they take the error (`Handled`)
    _handled_as: Handled | None = None
    _handled_error: BaseException | None = None
    #: what ``perform`` returned in its last run (unset: it raised or has not run)
    _returned: Any = UNSET

    def _stores_result(self) -> bool:
        """Whether this job keeps its result (its option, else its class's ``store_result``)."""
        option = self._store_result_option
        return type(self).store_result if option is None else option

    def _result_ttl_seconds(self) -> float:
        option = self._result_ttl_option
        if option is not None:
            return option
        return wait_seconds(type(self).result_ttl, f"{type(self).__qualname__}.result_ttl")

    def _forget_last_run(self) -> None:
        """A new run starts: what the last one returned and how its error was handled go."""
        self._handled_as = None
        self._handled_error = None
        self._returned = UNSET

    def _skips_record(self) -> bool:
        """True when this run ended without a record: a continuation interrupted at a
        checkpoint and re-enqueued at once (its live state is enough). Overridden there."""
        return False

    def _record_fields(self) -> dict[str, Any]:
        """Fields this job adds to its records (the batch, the chain, the steps): other mixins
        override it and merge their fields into ``super()._record_fields()``."""
        return {}

    def _payload_extras(self, data: dict[str, Any]) -> None:
        """Add the result options to a payload, only when the job stores its result (other
        payloads stay as they were)."""
        super()._payload_extras(data)  # type: ignore[misc]
        if self._stores_result():
            data["store_result"] = True
            data["result_ttl"] = self._result_ttl_seconds()

    def _load_extras(self, data: dict[str, Any]) -> None:
        super()._load_extras(data)  # type: ignore[misc]
        store = data.get("store_result")
        if store is not None and not isinstance(store, bool):
            raise TypeError(f"'store_result' must be true, false or absent, got {store!r}")
        self._store_result_option = store
        ttl = data.get("result_ttl")
        if ttl is not None and (
            not isinstance(ttl, int | float) or isinstance(ttl, bool) or not ttl > 0
        ):
            raise TypeError(f"'result_ttl' must be a number of seconds > 0, got {ttl!r}")
        self._result_ttl_option = None if ttl is None else float(ttl)

    def status(self) -> JobStatus:
        """Where this job is now (see `jobframe.job_status`), read from its adapter.

        Raises:
            UnsupportedError: the adapter keeps no status (``capabilities.results``).
        """
        from jobframe.tracking.status import job_status

        return job_status(self.job_id, self._adapter_for_results())

    def result(self, timeout: float | None = None) -> Any:
        """What ``perform`` returned, waiting up to ``timeout`` seconds for the job to finish
        (None, the default: do not wait, answer now). The wait is woken when the job ends.

        Raises:
            NoResultError: this job does not store its result (``store_result = True``).
            JobFailed: it failed (no retry follows), went dead, was discarded or cancelled.
            ResultTimeout: it had not finished within ``timeout``.
            UnsupportedError: the adapter keeps no results.
        """
        from jobframe.tracking.status import job_result

        if not self._stores_result():
            raise NoResultError(
                f"{type(self).__qualname__} does not store its result: set store_result = True "
                "on the class, or enqueue it with set(store_result=True)."
            )
        return job_result(self.job_id, timeout, self._adapter_for_results())

    async def aresult(self, timeout: float | None = None) -> Any:
        """`result` for async code: the wait runs in a thread, the event loop goes on."""
        return await asyncio.to_thread(self.result, timeout)

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report how far ``perform`` got: ``fraction`` from 0 to 1 and an optional message,
        shown by ``job.status()`` callers' `jobframe.job_report`, ``jobframe jobs show`` and the
        dashboard. Written at most every 0.25 s (a report of 1.0 always); the last report is
        kept in the job's record. Outside a worker, or on an adapter without results, it does
        nothing.

        Raises:
            InvalidOptionError: ``fraction`` is not a number from 0 to 1, or ``message`` not a
                string.
        """
        if (
            not isinstance(fraction, int | float)
            or isinstance(fraction, bool)
            or not 0 <= fraction <= 1
        ):
            raise InvalidOptionError(f"progress fraction must be from 0 to 1, got {fraction!r}.")
        if message is not None and not isinstance(message, str):
            raise InvalidOptionError(f"progress message must be a string, got {message!r}.")
        if self._progress is not None:
            self._progress.report(float(fraction), message)

    def _adapter_for_results(self) -> Any:
        return self.adapter()  # type: ignore[attr-defined]


def validate_result_options(options: dict[str, Any], clean: dict[str, Any]) -> None:
    """Check ``set(store_result=, result_ttl=)`` into ``clean``."""
    if options.get("store_result") is not None:
        if not isinstance(options["store_result"], bool):
            raise InvalidOptionError(
                f"store_result must be True or False, got {options['store_result']!r}."
            )
        clean["store_result"] = options["store_result"]
    if options.get("result_ttl") is not None:
        clean["result_ttl"] = wait_seconds(options["result_ttl"], "result_ttl")
        if clean["result_ttl"] <= 0:
            raise InvalidOptionError(
                f"result_ttl must be more than 0 seconds, got {options['result_ttl']!r}."
            )


__all__ = ["UNSET", "Handled", "Results", "validate_result_options"]
