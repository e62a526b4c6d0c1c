"""The hooks a jobframe plugin can implement (pluggy project name ``"jobframe"``).

A plugin is any module or object registered under the entry-point group ``jobframe``. Each
registration hook receives a ``register`` callable; the built-in adapters use exactly the same
hooks. The two context hooks carry state of the enqueuing code (a locale, a time zone, a tenant)
to the code that performs the job (see `jobframe.job.context` and docs/i18n.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("jobframe")
hookimpl = pluggy.HookimplMarker("jobframe")


@hookspec
def register_adapters(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register queue adapters: ``register("name", AdapterClass_or_factory)``."""


@hookspec
def register_serializers(register: Callable[[Any], None]) -> None:
    """Register argument serializers: ``register(MySerializer)`` (an `ObjectSerializer`)."""


@hookspec
def register_locators(register: Callable[[Any], None]) -> None:
    """Register GlobalID locators: ``register(locator)``."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add sub-commands to the ``jobframe`` command: ``cli.add_parser(name, help=...)``."""


@hookspec
def jobframe_current_context() -> Mapping[str, Any] | None:
    """What to carry with a job enqueued now, e.g. ``{"locale": "fr", "timezone": "Europe/Paris"}``.

    Called at ``perform_later`` (and ``set(...).perform_later``, ``perform_all_later``, a job held
    for a commit: when it is enqueued, not when the transaction commits). ``locale`` and
    ``timezone`` (strings) go to the job's ``locale`` / ``timezone``; other keys to its
    ``captured_context``. Values must be plain JSON. Return None to carry nothing.
    Each plugin's mapping is merged; a key two plugins capture keeps the first plugin's value.
    """


@hookspec
def jobframe_apply_context(context: Mapping[str, Any]) -> AbstractContextManager[Any] | None:
    """A context manager that restores ``context`` (what `jobframe_current_context` captured,
    ``locale`` and ``timezone`` included) around the job's perform and all its callbacks and
    error handlers, in whichever process runs it; None when this plugin has nothing to restore.

    Not called for a job that carries no context. Several plugins' managers nest, the first
    plugin's outermost.
    """
