"""Which queue a job goes to: ``queue_as`` (a name, or a callable of the job) plus the prefix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from jobframe import config
from jobframe.errors import InvalidOptionError

QueueAs = str | Callable[[Any], str] | None


def validate_queue_name(name: object, origin: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidOptionError(f"{origin} must be a non-empty queue name string, got {name!r}.")
    return name


def prefixed(name: str) -> str:
    """Apply the configured ``queue_name_prefix`` (``prefix`` + delimiter + name)."""
    settings = config.settings()
    prefix = settings.queue_name_prefix
    if not prefix or name.startswith(prefix + settings.queue_name_delimiter):
        return name
    return f"{prefix}{settings.queue_name_delimiter}{name}"


class QueueName:
    """``queue_as = "mailers"`` or ``queue_as = lambda job: ...``; default from settings."""

    queue_as: ClassVar[QueueAs] = None

    def _init_queue_options(self) -> None:
        self.queue_name = self._resolve_queue_name()
        super()._init_queue_options()  # type: ignore[misc]

    def _resolve_queue_name(self) -> str:
        spec = type(self).queue_as
        name = spec(self) if callable(spec) else spec
        if name is None:
            name = config.settings().default_queue
        return prefixed(validate_queue_name(name, f"{type(self).__qualname__}.queue_as"))
