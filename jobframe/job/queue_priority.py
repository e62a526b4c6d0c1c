"""A job's priority: lower numbers run first; None leaves it to the adapter's default."""

from __future__ import annotations

from jobframe.errors import InvalidOptionError


def validate_priority(value: object, origin: str) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InvalidOptionError(
        f"{origin} must be an integer (lower runs first) or None, got {value!r}."
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
