"""A job's priority: lower numbers run first; None leaves it to the adapter's default."""

from __future__ import annotations

from jobframe.errors import InvalidOptionError

#: Priorities every backend stores alike (a Redis score field, a SQL SMALLINT, an AMQP header).
PRIORITY_RANGE = range(-2048, 2048)


def validate_priority(value: object, origin: str) -> int | None:
    """`value` if it is None or an int in `PRIORITY_RANGE` (not a bool).

    Raises:
        InvalidOptionError: names `origin`, the value and the range.
    """
    if value is None or (
        isinstance(value, int) and not isinstance(value, bool) and value in PRIORITY_RANGE
    ):
        return value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise InvalidOptionError(
        f"{origin} must be an integer from {PRIORITY_RANGE.start} to {PRIORITY_RANGE.stop - 1} "
        f"(lower runs first) or None, got {shown}."
    )


class QueuePriority:
    """``priority = 10`` on the class (or a callable of the job); ``set(priority=)`` overrides."""

    priority: int | None = None  # or a callable(job) -> int | None

    def _init_queue_options(self) -> None:
        self.priority = self._resolve_priority()
        super()._init_queue_options()  # type: ignore[misc]

    def _resolve_priority(self) -> int | None:
        spec = type(self).priority
        value = spec(self) if callable(spec) else spec
        return validate_priority(value, f"{type(self).__qualname__}.priority")
