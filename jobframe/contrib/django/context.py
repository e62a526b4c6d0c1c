"""Django's active language and current time zone travel with every job (Active Job's i18n).

`DjangoContext` implements jobframe's context hooks (`jobframe.job.context`): at enqueue it
captures ``translation.get_language()`` and ``timezone.get_current_timezone_name()``; around the
job's perform (and its callbacks and error handlers) it applies them with
``translation.override`` and ``timezone.override``. So a job enqueued while a request runs in
French for a user in Paris renders French text and Paris times in the worker. ``install()``
registers it; jobframe's AppConfig calls it in ``ready()``.
"""

from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.utils import timezone, translation

from jobframe import plugins
from jobframe.hookspecs import hookimpl

PLUGIN_NAME = "jobframe.contrib.django.context"


class DjangoContext:
    """The jobframe plugin that captures and applies Django's language and time zone."""

    @hookimpl
    def jobframe_current_context(self) -> Mapping[str, Any] | None:
        captured: dict[str, Any] = {}
        if settings.USE_I18N:
            captured["locale"] = translation.get_language()  # None when deactivated
        if settings.USE_TZ:
            captured["timezone"] = timezone.get_current_timezone_name()
        return captured or None

    @hookimpl
    def jobframe_apply_context(
        self, context: Mapping[str, Any]
    ) -> contextlib.AbstractContextManager[None] | None:
        locale, zone = context.get("locale"), context.get("timezone")
        if locale is None and zone is None:
            return None
        return _applied(locale, zone)


@contextlib.contextmanager
def _applied(locale: str | None, zone: str | None) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        if locale is not None:
            stack.enter_context(translation.override(locale))
        if zone is not None:
            # Resolved first: an unknown name raises here, naming it, before the job runs.
            stack.enter_context(timezone.override(zoneinfo.ZoneInfo(zone)))
        yield


def install() -> DjangoContext:
    """Register `DjangoContext` as a jobframe plugin (once; later calls return the same one)."""
    registered = plugins.get_manager().get_plugin(PLUGIN_NAME)
    if isinstance(registered, DjangoContext):
        return registered
    plugin = DjangoContext()
    plugins.register_plugin(plugin, name=PLUGIN_NAME)
    return plugin


def uninstall() -> None:
    """Unregister the plugin `install` registered (no error if it is not registered)."""
    if plugins.get_manager().get_plugin(PLUGIN_NAME) is not None:
        plugins.unregister_plugin(PLUGIN_NAME)


__all__ = ["PLUGIN_NAME", "DjangoContext", "install", "uninstall"]
