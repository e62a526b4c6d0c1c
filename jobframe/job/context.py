"""A job's context: what the enqueuing code's plugins capture (a locale, a time zone, a tenant)
and restore around the job's perform, wherever it runs (Active Job's ``I18n.with_locale``).

At enqueue, each ``jobframe_current_context()`` hook's mapping is merged: ``locale`` and
``timezone`` go to the job's `locale` / `timezone` payload fields, other keys to its
``captured_context`` (payload key ``context``, present only when not empty). Around
``perform_now`` (worker, inline, test and async adapters alike) each
``jobframe_apply_context(context)`` hook's context manager is entered, the first plugin's
outermost, so callbacks, ``retry_on`` / ``discard_on`` handlers and ``after_discard`` all run
inside it. A job that carries nothing calls no hook.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from jobframe import plugins
from jobframe.errors import DeserializationError, JobframeError, SerializationError
from jobframe.serializers.base import is_plain_json

CAPTURE = "jobframe_current_context"
APPLY = "jobframe_apply_context"
#: the context keys that have payload fields of their own
FIELDS = ("locale", "timezone")


def capture() -> dict[str, Any]:
    """The merged mappings of every ``jobframe_current_context`` hook (empty without plugins).

    Raises:
        SerializationError: a hook raised, returned something other than a mapping, or a value
            that is not plain JSON (``locale`` / ``timezone``: not a string); names plugin and key.
    """
    merged: dict[str, Any] = {}
    for name, function in plugins.hook_functions(CAPTURE):
        try:
            found = function()
        except Exception as exc:
            raise SerializationError(
                f"jobframe plugin {name!r} failed capturing the job's context "
                f"({CAPTURE}): {type(exc).__name__}: {exc}"
            ) from exc
        if found is None:
            continue
        if not isinstance(found, Mapping):
            raise SerializationError(
                f"jobframe plugin {name!r}: {CAPTURE}() must return a mapping or None, "
                f"got {type(found).__name__}."
            )
        for key, value in found.items():
            _check(name, key, value)
            merged.setdefault(key, value)  # the first plugin's value wins
    return merged


def _check(plugin: str, key: Any, value: Any) -> None:
    if not isinstance(key, str):
        raise SerializationError(
            f"jobframe plugin {plugin!r}: context keys must be strings, got {key!r}."
        )
    if key in FIELDS and value is not None and not isinstance(value, str):
        raise SerializationError(
            f"jobframe plugin {plugin!r}: context key {key!r} must be a string or None, got "
            f"{type(value).__name__}."
        )
    if not is_plain_json(value):
        raise SerializationError(
            f"jobframe plugin {plugin!r}: context key {key!r} holds a {type(value).__name__}, "
            "which is not plain JSON (str, int, float, bool, None, lists, dicts with str keys); "
            "capture a JSON form of it (a name, an id, an ISO string)."
        )


def entered(context: Mapping[str, Any]) -> contextlib.ExitStack:
    """Every ``jobframe_apply_context`` hook's manager for ``context``, entered, first outermost;
    close the returned stack to leave them (innermost first).

    Raises:
        DeserializationError: a hook, or entering its manager, raised (e.g. an unknown time zone);
            the managers entered so far are left again. ``discard_on`` sees this error.
    """
    stack = contextlib.ExitStack()
    try:
        for name, function in plugins.hook_functions(APPLY):
            try:
                manager = function(context=context)
                if manager is not None:
                    stack.enter_context(_Named(name, manager))
            except Exception as exc:
                raise DeserializationError(
                    f"jobframe plugin {name!r} could not apply the job's context "
                    f"{dict(context)!r:.300} ({APPLY}): {type(exc).__name__}: {exc}"
                ) from exc
    except BaseException:
        stack.close()
        raise
    return stack


class _Named:
    """A plugin's context manager whose failure on leaving names the plugin (an error the job
    itself raised passes through unchanged)."""

    def __init__(self, name: str, manager: contextlib.AbstractContextManager[Any]) -> None:
        self.name, self.manager = name, manager

    def __enter__(self) -> Any:
        return self.manager.__enter__()

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool | None:
        try:
            return self.manager.__exit__(kind, value, traceback)
        except Exception as exc:
            if exc is value:
                raise
            raise JobframeError(
                f"jobframe plugin {self.name!r} failed leaving the job's context ({APPLY}): "
                f"{type(exc).__name__}: {exc}"
            ) from exc


class Contextual:
    """The job's captured context: filled at enqueue, applied around ``perform_now``."""

    locale: str | None
    timezone: str | None
    #: what plugins captured at enqueue besides ``locale`` and ``timezone`` (payload key
    #: ``context``); None when they captured nothing else
    captured_context: dict[str, Any] | None = None
    #: True once captured (or read from a payload): a retry keeps its first enqueue's context
    _context_captured: bool = False

    def _capture_context(self) -> None:
        """Capture the enqueuing code's context, once; values set on the job beforehand win."""
        if self._context_captured:
            return
        found = capture()
        self._context_captured = True
        if not found:
            return
        if self.locale is None:
            self.locale = found.pop("locale", None)
        if self.timezone is None:
            self.timezone = found.pop("timezone", None)
        rest = {key: value for key, value in found.items() if key not in FIELDS}
        if rest:
            self.captured_context = {**rest, **(self.captured_context or {})}

    def job_context(self) -> dict[str, Any]:
        """What ``jobframe_apply_context`` receives: ``locale`` and ``timezone`` when set, and the
        ``captured_context`` keys."""
        context = dict(self.captured_context or {})
        if self.locale is not None:
            context["locale"] = self.locale
        if self.timezone is not None:
            context["timezone"] = self.timezone
        return context

    def _context_scope(self) -> contextlib.AbstractContextManager[Any] | None:
        """The plugins' managers for this job's context, entered; None when it carries none
        (most jobs: no `contextlib.nullcontext` to make and enter for them).

        Raises:
            DeserializationError: a plugin could not apply it (see `entered`).
        """
        if self.locale is None and self.timezone is None and not self.captured_context:
            return None
        return entered(self.job_context())

    def _payload_extras(self, data: dict[str, Any]) -> None:
        super()._payload_extras(data)  # type: ignore[misc]
        if self.captured_context:
            data["context"] = self.captured_context

    def _load_extras(self, data: dict[str, Any]) -> None:
        super()._load_extras(data)  # type: ignore[misc]
        context = data.get("context")
        if context is not None and not (
            isinstance(context, dict) and all(isinstance(key, str) for key in context)
        ):
            raise TypeError(f"'context' must be an object with string keys, got {context!r:.200}")
        for key in FIELDS:
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{key!r} must be a string or null, got {value!r:.100}")
        self.captured_context = context or None
        self._context_captured = True


__all__ = ["APPLY", "CAPTURE", "Contextual", "capture", "entered"]
