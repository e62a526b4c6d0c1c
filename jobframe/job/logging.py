"""What the log subscriber may print about a job's arguments."""

from __future__ import annotations

from typing import Any, ClassVar

from jobframe import config

FILTERED = "[FILTERED]"


class Logging:
    """``log_arguments = False`` on a class keeps its arguments out of the logs."""

    log_arguments: ClassVar[bool] = True

    def loggable_arguments(self) -> str:
        """The arguments as they may appear in a log line ('' when they must not)."""
        settings = config.settings()
        if not (settings.log_arguments and type(self).log_arguments):
            return ""
        args: tuple[Any, ...] = getattr(self, "args", ())
        kwargs: dict[str, Any] = getattr(self, "kwargs", {})
        hidden = set(settings.filter_arguments)
        parts = [repr(a) for a in args]
        parts += [f"{k}={FILTERED if k in hidden else repr(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)
