"""jobframe's settings from Django's ``settings.JOBFRAME``.

``JOBFRAME`` is a dict with the keys of ``[tool.jobframe]``, ``environments`` included (chosen by
``JOBFRAME_ENV``), ``${VAR}`` interpolation in ``adapter_options``, and the same checks and errors,
which name ``settings.JOBFRAME``. ``JOBFRAME_ADAPTER``/``JOBFRAME_URL`` still override it and
``jobframe.configure(...)`` in code still wins. Without ``JOBFRAME`` the configuration file is read
as outside Django. Either way ``secret_key`` (signed GlobalIDs) defaults to Django's
``SECRET_KEY``, which no error or log shows.

The app config installs this source in ``ready()``; `install` and `uninstall` are public for
tests that switch it on and off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from jobframe import config, config_sources
from jobframe.config_sources import ConfigSource, MappingSource
from jobframe.errors import ConfigurationError

__all__ = ["SOURCE_NAME", "check", "install", "installed", "source", "uninstall"]

#: How errors name the Django settings jobframe reads.
SOURCE_NAME = "settings.JOBFRAME"


def source() -> ConfigSource | None:
    """``settings.JOBFRAME`` as a configuration source (the file's, if it is not set), with
    Django's ``SECRET_KEY`` as the default ``secret_key``; None before Django is configured.

    Raises:
        ConfigurationError: ``JOBFRAME`` is not a dict.
    """
    from django.conf import settings

    if not settings.configured:
        return None
    defaults: dict[str, tuple[Any, str]] = {}
    secret = getattr(settings, "SECRET_KEY", None)
    if isinstance(secret, str) and secret:
        defaults["secret_key"] = (secret, "settings.SECRET_KEY")
    table = getattr(settings, "JOBFRAME", None)
    if table is None:
        found: ConfigSource | None = config_sources.file_source()
        if found is None:
            return MappingSource(name=SOURCE_NAME, table={}, defaults=defaults)
        return dataclasses.replace(found, defaults=defaults)
    if not isinstance(table, Mapping):
        raise ConfigurationError(
            f"{SOURCE_NAME} must be a dict with the keys of [tool.jobframe] (e.g. "
            f"{{'adapter': 'redis'}}), got {type(table).__name__}. Fix it in your settings module."
        )
    return MappingSource(name=SOURCE_NAME, table=dict(table), defaults=defaults)


_DISPATCH = "jobframe.contrib.django.conf"


def _changed(*, setting: str, **_: Any) -> None:
    """``override_settings(JOBFRAME=...)`` in a test: read the new value."""
    if setting in {"JOBFRAME", "SECRET_KEY"}:
        config.reload()


def install(*, check: bool = True) -> None:
    """Make ``settings.JOBFRAME`` jobframe's configuration and (unless ``check`` is false) check
    it now (`check`).

    Raises:
        ConfigurationError: a bad key or value, naming ``settings.JOBFRAME`` and the key.
    """
    from django.core.signals import setting_changed

    setting_changed.connect(_changed, dispatch_uid=_DISPATCH)
    config_sources.install(source)
    if check:
        config.settings()


def check() -> None:
    """Read and check the configuration now.

    Raises:
        ConfigurationError: a bad key or value, naming ``settings.JOBFRAME`` and the key.
    """
    config.settings()


def uninstall() -> None:
    """Read the configuration file again, as outside Django."""
    from django.core.signals import setting_changed

    setting_changed.disconnect(dispatch_uid=_DISPATCH)
    config_sources.uninstall(source)


def installed() -> bool:
    """Whether ``settings.JOBFRAME`` is jobframe's configuration source."""
    return config_sources.installed(source)
