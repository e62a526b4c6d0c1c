"""What the log subscriber may print about a job's arguments."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from jobframe import config
from jobframe.errors import DeserializationError
from jobframe.log_values import loggable_repr, truncate

FILTERED = "[FILTERED]"


class Logging:
    """``log_arguments = False`` on a class keeps its arguments out of the logs."""

    log_arguments: ClassVar[bool] = True

    def loggable_arguments(self) -> str:
        """The arguments as they may appear in a log line ('' when they must not).

        An argument named in the ``filter_arguments`` setting shows as ``[FILTERED]``, whether it
        was passed by keyword or by position. Models show as their ``gid://`` URI, and the text
        is cut at the ``log_arguments_limit`` setting (saying how much was cut).
        """
        settings = config.settings()
        if not (settings.log_arguments and type(self).log_arguments):
            return ""
        try:
            args: tuple[Any, ...] = getattr(self, "args", ())
            kwargs: dict[str, Any] = getattr(self, "kwargs", {})
        except DeserializationError:  # a deserialized job's arguments: decoded on first access
            return "(arguments that cannot be decoded)"
        hidden = set(settings.filter_arguments)
        names = self._positional_names(len(args)) if hidden else [""] * len(args)
        limit = settings.log_arguments_limit
        unseen = [0]  # characters of long text arguments never turned into text (`_shown`)
        try:
            parts = [
                FILTERED if name in hidden else _shown(a, limit, unseen)
                for a, name in zip(args, names, strict=True)
            ]
            parts += [
                f"{k}={FILTERED if k in hidden else _shown(v, limit, unseen)}"
                for k, v in kwargs.items()
            ]
        except RecursionError:
            return "[nested too deeply to show]"
        text = ", ".join(parts)
        if not unseen[0]:
            return truncate(text, limit)
        more = len(text) + unseen[0] - limit
        return f"{text[:limit]}... [{more:,} more characters]"

    def _positional_names(self, count: int) -> list[str]:
        """The ``perform`` parameter each of the first ``count`` positional arguments binds to."""
        perform = self.perform  # type: ignore[attr-defined]
        names: list[str] = []
        for parameter in inspect.signature(perform).parameters.values():
            if parameter.kind == parameter.VAR_POSITIONAL:
                names += [parameter.name] * count
            elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                names.append(parameter.name)
        return (names + [""] * count)[:count]


def _shown(value: Any, limit: int, unseen: list[int]) -> str:
    """`loggable_repr` of ``value``, except that a str longer than ``limit`` is shown by its first
    ``limit`` characters only (a 10 MB argument must not be copied into a 10 MB ``repr`` to show
    a kilobyte of it); the characters left out are added to ``unseen[0]``, counted in the value
    (its ``repr`` would escape a newline or a quote into two)."""
    if type(value) is str and len(value) > limit:
        head = repr(value[:limit])
        unseen[0] += len(value) - limit + 1  # and the closing quote
        return head[:-1]  # its closing quote belongs after what is left out
    return loggable_repr(value)
