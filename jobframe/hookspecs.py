"""The hooks a jobframe plugin can implement (pluggy project name ``"jobframe"``).

A plugin is any module or object registered under the entry-point group ``jobframe``. Each hook
receives a ``register`` callable; the built-in adapters use exactly the same hooks.
"""

from __future__ import annotations

from collections.abc import Callable
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
