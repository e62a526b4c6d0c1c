"""The table of queue adapter names that plugins fill through the `register_adapters` hook.

`jobframe.plugins` owns one `AdapterRegistry` per plugin manager; this module knows nothing of
pluggy. A name maps to a class or callable, or to a ``"module:attr"`` string imported on first use,
so that an adapter's driver (redis, SQLAlchemy) is imported only when the adapter is used.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable
from typing import Any

from jobframe.backend.adapter import QueueAdapter
from jobframe.errors import ConfigurationError

AdapterFactory = Callable[..., QueueAdapter]


@dataclasses.dataclass(frozen=True)
class AdapterInfo:
    """A queue adapter name, its factory, and the plugin that registered it."""

    name: str
    factory: AdapterFactory
    target: str  # "module:attr", shown by `jobframe plugins` without importing a lazy factory
    plugin: str


class LazyFactory:
    """A ``"module:attr"`` adapter factory, imported on its first call."""

    def __init__(self, target: str, adapter: str) -> None:
        module, colon, attr = target.partition(":")
        if not (module and colon and attr):
            raise ValueError(f"adapter {adapter!r}: {target!r} is not a 'module:attr' reference")
        self.target, self.adapter = target, adapter
        self._factory: AdapterFactory | None = None

    def load(self) -> AdapterFactory:
        """Import the target (once).

        Raises:
            ConfigurationError: the module or attribute is missing, e.g. a driver not installed.
        """
        if self._factory is None:
            module, _, attr = self.target.partition(":")
            try:
                obj: Any = importlib.import_module(module)
                for part in attr.split("."):
                    obj = getattr(obj, part)
            except (ImportError, AttributeError) as exc:
                raise ConfigurationError(
                    f"queue adapter {self.adapter!r} could not load {self.target}: {exc}. "
                    "Is the distribution that provides it installed, with its dependencies?"
                ) from exc
            self._factory = obj
        return self._factory

    def __call__(self, *args: Any, **options: Any) -> QueueAdapter:
        return self.load()(*args, **options)

    def __repr__(self) -> str:
        return f"<LazyFactory {self.target}>"


class Registrar:
    """The ``register(name, factory)`` one plugin's hook receives; it only stages entries."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self.staged: list[AdapterInfo] = []

    def __call__(self, name: str, factory: AdapterFactory | str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"an adapter name must be a non-empty string, got {name!r}")
        if isinstance(factory, str):
            self.staged.append(AdapterInfo(name, LazyFactory(factory, name), factory, self.plugin))
        elif callable(factory):
            target = f"{factory.__module__}:{getattr(factory, '__qualname__', repr(factory))}"
            self.staged.append(AdapterInfo(name, factory, target, self.plugin))
        else:
            raise TypeError(f"adapter {name!r}: expected a class, a callable or 'module:attr'")


class AdapterRegistry:
    """Adapter name -> `AdapterInfo`; the first registration of a name wins."""

    def __init__(self) -> None:
        self._entries: dict[str, AdapterInfo] = {}

    def commit(self, staged: Iterable[AdapterInfo]) -> list[str]:
        """Add entries; return a warning message for each name another plugin already holds."""
        conflicts = []
        for info in staged:
            first = self._entries.setdefault(info.name, info)
            if (first.target, first.plugin) != (info.target, info.plugin):
                conflicts.append(
                    f"queue adapter {info.name!r} is registered by plugin {first.plugin!r} "
                    f"({first.target}) and by plugin {info.plugin!r} ({info.target}); "
                    f"the first wins, {info.plugin!r}'s is ignored"
                )
        return conflicts

    def remove_plugin(self, plugin: str) -> None:
        """Forget every adapter that ``plugin`` registered."""
        self._entries = {n: i for n, i in self._entries.items() if i.plugin != plugin}

    def infos(self) -> list[AdapterInfo]:
        return sorted(self._entries.values(), key=lambda info: info.name)
