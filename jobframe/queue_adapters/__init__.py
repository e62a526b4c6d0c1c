"""Finding queue adapters by name (through the plugin registry) and the one jobs use now."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jobframe import config
from jobframe.backend.adapter import QueueAdapter
from jobframe.errors import ConfigurationError, JobframeError, UnknownAdapterError
from jobframe.redact import mask_secrets

__all__ = ["QueueAdapter", "get", "lookup", "override", "reset"]

_lock = threading.Lock()
_instances: dict[str, QueueAdapter] = {}
_override: list[QueueAdapter] = []


def lookup(name: str, **options: Any) -> QueueAdapter:
    """A new adapter instance of the adapter registered as ``name``.

    Raises:
        UnknownAdapterError: no plugin registers ``name``; the message lists those that do.
    """
    from jobframe import plugins

    factories = plugins.adapter_factories()
    factory = factories.get(name)
    if factory is None:
        known = ", ".join(sorted(factories)) or "none"
        raise UnknownAdapterError(
            f"no queue adapter named {name!r} (registered: {known}). Install the distribution "
            f"that provides it (e.g. jobframe-{name}) or fix the adapter name in your settings; "
            "`jobframe plugins` lists what is installed."
        )
    adapter = factory(**options)
    if not isinstance(adapter, QueueAdapter):
        raise UnknownAdapterError(
            f"the factory registered as {name!r} returned {adapter!r}, not a QueueAdapter"
        )
    return adapter


def get(spec: str | QueueAdapter | None = None) -> QueueAdapter:
    """The shared adapter for ``spec``: an instance as is, a name, or None for the configured one.

    A named adapter gets the configured ``adapter_options`` when it is the configured adapter.
    """
    if _override:
        return _override[-1]
    if isinstance(spec, QueueAdapter):
        return spec
    settings = config.settings()
    name = spec or settings.adapter
    adapter = _instances.get(name)
    if adapter is None:
        with _lock:
            adapter = _instances.get(name)
            if adapter is None:
                if name != settings.adapter:
                    adapter = _instances[name] = lookup(name)
                else:
                    adapter = _instances[name] = _configured(settings)
    return adapter


def _configured(settings: config.Settings) -> QueueAdapter:
    """The configured adapter, built from the settings; a bad option is a `ConfigurationError`
    that says where it was set (file and table, or environment variable), secrets masked."""
    options = dict(settings.adapter_options)
    try:
        return lookup(settings.adapter, **options)
    except UnknownAdapterError:
        raise
    except Exception as exc:
        url = options.get("url")
        key = "adapter_options.url" if isinstance(url, str) else "adapter_options"
        text = str(exc) if isinstance(exc, JobframeError) else f"{type(exc).__name__}: {exc}"
        error = ConfigurationError(
            f"{mask_secrets(text, url if isinstance(url, str) else None).rstrip('.')} "
            f"(the {settings.adapter!r} adapter's {key} comes from {settings.source_of(key)}; "
            "fix it there)."
        )
    # Raised outside the handler: the original error (SQLAlchemy's may quote the whole URL with
    # its password) is not chained into the traceback.
    raise error


@contextmanager
def override(adapter: QueueAdapter) -> Iterator[QueueAdapter]:
    """Route every job, whatever its class's ``queue_adapter``, to ``adapter`` (for tests)."""
    _override.append(adapter)
    try:
        yield adapter
    finally:
        _override.remove(adapter)


def reset(timeout: float | None = 5.0) -> None:
    """Shut down and forget the shared adapters (settings changed, or a test ends)."""
    with _lock:
        instances = list(_instances.values())
        _instances.clear()
    for adapter in instances:
        adapter.shutdown(timeout)


config.on_change(lambda _settings: reset())
