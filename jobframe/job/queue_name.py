"""Which queue a job goes to: ``queue_as`` (a name, or a callable of the job) plus the prefix.

One rule for queue names holds on every backend (see `validate_queue_name`), so a name that is
accepted at enqueue also fits every Redis key, SQL column, AMQP queue, URL and dashboard link.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, TypeGuard

from jobframe import config
from jobframe.errors import InvalidOptionError

QueueAs = str | Callable[[Any], str] | None

MAX_QUEUE_NAME_LENGTH = 128
QUEUE_NAME_RULE = (
    f"a queue name is 1-{MAX_QUEUE_NAME_LENGTH} characters of ASCII letters, digits and _ - . :"
)
_NAME = re.compile(rf"[A-Za-z0-9_.:\-]{{1,{MAX_QUEUE_NAME_LENGTH}}}")
_OTHER = re.compile(r"[^A-Za-z0-9_.:\-]+")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _suggestion(name: str) -> str:
    fixed = _OTHER.sub(".", name.strip()).strip(".")[:MAX_QUEUE_NAME_LENGTH]
    return f" Use e.g. {fixed!r} instead." if fixed else ""


def is_queue_name(name: object) -> TypeGuard[str]:
    """Whether `name` follows `QUEUE_NAME_RULE`."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def validate_queue_name(name: object, origin: str) -> str:
    """`name` if it is a valid queue name, the same rule on every backend.

    Raises:
        InvalidOptionError: names `origin`, the value (shortened), the rule and a fixed name.
    """
    if is_queue_name(name):
        return name
    if not isinstance(name, str):
        raise InvalidOptionError(
            f"{origin} must be a queue name string, got {_shown(name)}; {QUEUE_NAME_RULE}."
        )
    raise InvalidOptionError(
        f"{origin} is not a valid queue name: {_shown(name)}; {QUEUE_NAME_RULE}."
        + _suggestion(name)
    )


def prefixed(name: str) -> str:
    """Apply the configured ``queue_name_prefix`` (``prefix`` + delimiter + name).

    Raises:
        InvalidOptionError: the prefixed name is longer than a queue name may be.
    """
    settings = config.settings()
    prefix = settings.queue_name_prefix
    if not prefix or name.startswith(prefix + settings.queue_name_delimiter):
        return name
    full = f"{prefix}{settings.queue_name_delimiter}{name}"
    if len(full) > MAX_QUEUE_NAME_LENGTH:
        raise InvalidOptionError(
            f"queue {name!r} with the queue_name_prefix {prefix!r} is {len(full)} characters "
            f"long; {QUEUE_NAME_RULE}. Use a shorter queue name or prefix."
        )
    return full


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
