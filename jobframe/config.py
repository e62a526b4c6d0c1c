"""Settings per environment.

Sources, weakest first: built-in defaults; ``[tool.jobframe]`` in the nearest ``pyproject.toml`` (or
a ``jobframe.toml``, whose keys sit at the top level) found from the current directory upward, or
the mapping a framework installed in its place (Django's ``settings.JOBFRAME``:
`jobframe.config_sources`); its ``environments.<JOBFRAME_ENV>`` table; the variables
``JOBFRAME_ADAPTER`` and ``JOBFRAME_URL``; and last ``jobframe.configure(...)`` in code, which
wins over all.

String values in the file's ``adapter_options`` may name environment variables, as
``${REDIS_URL}`` or ``${REDIS_URL:-redis://127.0.0.1:6379/0}`` (``$${`` is a literal ``${``), so
one file serves every deployment without secrets in it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jobframe import config_sources
from jobframe.config_sources import ConfigSource
from jobframe.config_sources import find_config_file as find_config_file
from jobframe.errors import ConfigurationError
from jobframe.redact import mask_secrets

DEFAULT_ENVIRONMENT = "development"
#: The shortest dashboard token and password accepted, here and by `jobframe.dashboard.Auth`.
MIN_DASHBOARD_TOKEN = 16
MIN_DASHBOARD_PASSWORD = 8
#: Settings whose values are secrets: an error about one names its length, never its value.
SECRET_SETTINGS = frozenset({"dashboard_token", "dashboard_password", "secret_key"})
#: the default of ``max_payload_bytes`` (the same number as jobframe.backend.payload's)
DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Settings:
    """The effective configuration. Read it with `jobframe.config.settings()`."""

    adapter: str = "async"
    adapter_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    imports: tuple[str, ...] = ()
    queue_name_prefix: str | None = None
    queue_name_delimiter: str = "_"
    default_queue: str = "default"
    global_id_app: str = "jobframe"
    secret_key: str | None = dataclasses.field(default=None, repr=False)
    locators: tuple[Any, ...] = ()
    log_arguments: bool = True
    log_arguments_limit: int = 1024
    filter_arguments: tuple[str, ...] = ()
    enqueue_after_commit: bool = False
    shutdown_timeout: float = 25.0
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    #: seconds a finished job's record (status, error) is kept: `jobframe.job_status` answers
    #: "unknown" after it; a job that stores its result keeps it ``result_ttl`` instead
    history_ttl: float = 86400.0
    #: trace enqueues and performs with OpenTelemetry (`jobframe.contrib.opentelemetry`, needs
    #: ``jobframe[otel]``): instrumented when configured and when a worker starts
    otel: bool = False
    dashboard_token: str | None = dataclasses.field(default=None, repr=False)
    dashboard_username: str | None = None
    dashboard_password: str | None = dataclasses.field(default=None, repr=False)
    dashboard_trusted_origins: tuple[str, ...] = ()
    #: recurring tasks by name, each a table (job, schedule, args...): `jobframe.recurring`
    recurring: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    environment: str = DEFAULT_ENVIRONMENT
    source: str | None = None  # the file (or settings.JOBFRAME) read, for error messages
    #: where each key that is not a default came from ("adapter_options.url" for JOBFRAME_URL)
    provenance: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def source_of(self, key: str) -> str:
        """Where the value of `key` came from, for error messages: a file and its table, an
        environment variable, ``jobframe.configure()``, or the defaults."""
        return self.provenance.get(key) or self.provenance.get(key.split(".")[0]) or "the defaults"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_DERIVED = {"environment", "source", "provenance"}
#: Environments that may have no table in the file: they then use the base settings.
FALLBACK_ENVIRONMENTS = frozenset({"development", "test"})


def _queue_name_part(value: object) -> bool:
    from jobframe.job.queue_name import is_queue_name  # that module reads these settings

    return is_queue_name(value)


_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "adapter": (lambda v: isinstance(v, str) and bool(v), "a non-empty string, e.g. 'async'"),
    "adapter_options": (lambda v: isinstance(v, Mapping), "a table/dict of adapter options"),
    "imports": (
        lambda v: isinstance(v, list | tuple) and all(isinstance(i, str) for i in v),
        "a list of module names",
    ),
    "queue_name_prefix": (
        lambda v: v is None or v == "" or _queue_name_part(v),
        "a queue name (1-128 ASCII letters, digits and _ - . :)",
    ),
    "queue_name_delimiter": (
        lambda v: v == "" or _queue_name_part(v),
        "empty or made of the characters a queue name may hold (letters, digits, _ - . :)",
    ),
    "default_queue": (
        lambda v: _queue_name_part(v),
        "a queue name (1-128 ASCII letters, digits and _ - . :), e.g. 'default'",
    ),
    "global_id_app": (
        lambda v: isinstance(v, str) and bool(v) and "/" not in v,
        "a non-empty string without '/'",
    ),
    "secret_key": (lambda v: v is None or isinstance(v, str | bytes), "a string"),
    "locators": (lambda v: isinstance(v, list | tuple), "a list of locators"),
    "log_arguments": (lambda v: isinstance(v, bool), "true or false"),
    "log_arguments_limit": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "a number of characters >= 0 (arguments longer than that are cut in log lines)",
    ),
    "filter_arguments": (
        lambda v: isinstance(v, list | tuple) and all(isinstance(i, str) for i in v),
        "a list of keyword-argument names",
    ),
    "enqueue_after_commit": (lambda v: isinstance(v, bool), "true or false"),
    "otel": (lambda v: isinstance(v, bool), "true or false"),
    "dashboard_token": (
        lambda v: v is None or (isinstance(v, str) and len(v) >= MIN_DASHBOARD_TOKEN),
        f"a string of at least {MIN_DASHBOARD_TOKEN} characters",
    ),
    "dashboard_username": (lambda v: v is None or isinstance(v, str), "a string"),
    "dashboard_password": (
        lambda v: v is None or (isinstance(v, str) and len(v) >= MIN_DASHBOARD_PASSWORD),
        f"a string of at least {MIN_DASHBOARD_PASSWORD} characters",
    ),
    "dashboard_trusted_origins": (
        lambda v: isinstance(v, list | tuple) and all(is_origin(o) for o in v),
        "a list of origins, each scheme://host[:port] with no path (e.g. https://ops.example.com)",
    ),
    "shutdown_timeout": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v >= 0,
        "a number of seconds >= 0",
    ),
    "recurring": (
        lambda v: isinstance(v, Mapping) and all(isinstance(t, Mapping) for t in v.values()),
        "a table of tables, one per task: [tool.jobframe.recurring.NAME] with job and schedule",
    ),
    "history_ttl": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 3.2e9,
        "a number of seconds >= 0 (default 86400: one day; 0 keeps no history of jobs that "
        "store no result and are in no batch or chain)",
    ),
    "max_payload_bytes": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1024,
        "a number of bytes >= 1024 (default 16 MiB)",
    ),
}


def is_origin(value: Any) -> bool:
    """Whether ``value`` is an origin as browsers send it: ``scheme://host[:port]``, no path."""
    return isinstance(value, str) and re.fullmatch(r"https?://[^/?#\s]+", value) is not None


def _shown(key: str, value: Any) -> str:
    """How an invalid value appears in an error: a secret only by its type and length."""
    if key in SECRET_SETTINGS and isinstance(value, str):
        return f"a string of {len(value)} characters (not shown)"
    if key in SECRET_SETTINGS:
        return f"a value of type {type(value).__name__} (not shown)"
    return mask_secrets(repr(value))  # adapter_options may hold a URL with its password


_lock = threading.RLock()
_loaded: Settings | None = None
_overrides: dict[str, Any] = {}
_listeners: list[Callable[[Settings], None]] = []


def _validate(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _FIELDS or key in _DERIVED:
            known = ", ".join(sorted(k for k in _FIELDS if k not in _DERIVED))
            raise ConfigurationError(
                f"unknown jobframe setting {key!r} in {source}. Known settings: {known}."
            )
        check, expected = _CHECKS[key]
        if not check(value):
            got = _shown(key, value)
            raise ConfigurationError(
                f"jobframe setting {key!r} in {source} must be {expected}, got {got}."
            )
        if key in {"imports", "locators", "filter_arguments", "dashboard_trusted_origins"}:
            value = tuple(value)
        elif key in {"adapter_options", "recurring"}:
            value = dict(value)
        elif key == "shutdown_timeout":
            value = float(value)
        clean[key] = value
    return clean


def load(start: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from the config file and the environment (ignores `configure`).

    Raises:
        ConfigurationError: a bad value, naming the key and where it came from; or
            ``JOBFRAME_ENV`` names an environment the file has no table for (but ``development``
            and ``test``, which may use the base settings).
    """
    env = os.environ if environ is None else environ
    environment = env.get("JOBFRAME_ENV") or DEFAULT_ENVIRONMENT
    values: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    source: str | None = None
    found = config_sources.source(start)
    if found is not None:
        source = found.name
        values, provenance = _read(found, environment, env)
    if env.get("JOBFRAME_ADAPTER"):
        chosen = _validate({"adapter": env["JOBFRAME_ADAPTER"]}, "$JOBFRAME_ADAPTER")["adapter"]
        if chosen != values.get("adapter", Settings.adapter):
            # The file's options were written for its own adapter (a Redis URL is no database
            # URL): the overriding adapter starts from its defaults, plus JOBFRAME_URL.
            values.pop("adapter_options", None)
            provenance.pop("adapter_options", None)
        values["adapter"] = chosen
        provenance["adapter"] = "$JOBFRAME_ADAPTER"
    for var, key in (
        ("JOBFRAME_DASHBOARD_TOKEN", "dashboard_token"),
        ("JOBFRAME_DASHBOARD_USERNAME", "dashboard_username"),
        ("JOBFRAME_DASHBOARD_PASSWORD", "dashboard_password"),
    ):
        if env.get(var):
            values.update(_validate({key: env[var]}, f"${var}"))
            provenance[key] = f"${var}"
    if env.get("JOBFRAME_DASHBOARD_TRUSTED_ORIGINS"):
        origins = [o.strip() for o in env["JOBFRAME_DASHBOARD_TRUSTED_ORIGINS"].split(",")]
        values.update(
            _validate(
                {"dashboard_trusted_origins": [o for o in origins if o]},
                "$JOBFRAME_DASHBOARD_TRUSTED_ORIGINS",
            )
        )
        provenance["dashboard_trusted_origins"] = "$JOBFRAME_DASHBOARD_TRUSTED_ORIGINS"
    if env.get("JOBFRAME_URL"):
        options = dict(values.get("adapter_options", {}))
        options["url"] = env["JOBFRAME_URL"]
        values["adapter_options"] = options
        provenance["adapter_options.url"] = "$JOBFRAME_URL"
    return Settings(**values, environment=environment, source=source, provenance=provenance)


def _read(
    found: ConfigSource, environment: str, env: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The values of a source's table overlaid with its ``environment`` table, and where each
    came from."""
    name = found.name
    table = dict(found.table)
    environments = table.pop("environments", {})
    if not isinstance(environments, Mapping):
        raise ConfigurationError(f"'environments' in {name} must be a table of tables.")
    values = _validate({k: v for k, (v, _) in found.defaults.items()}, name)
    provenance = {k: origin for k, (_, origin) in found.defaults.items()}
    base = _validate(table, name)
    values.update(base)
    provenance.update(dict.fromkeys(base, name))
    where = found.where(environment)
    overlay = environments.get(environment)
    if overlay is None and environment not in FALLBACK_ENVIRONMENTS:
        named = ", ".join(repr(e) for e in sorted(environments)) or "none"
        raise ConfigurationError(found.missing(environment, named))
    if overlay is None:
        overlay = {}
    if not isinstance(overlay, Mapping):
        raise ConfigurationError(f"'environments.{environment}' in {name} must be a table.")
    overlay = _validate(overlay, where)
    base_tasks = dict(values.get("recurring", {}))
    provenance.update({f"recurring.{task}": name for task in base_tasks})
    values.update(overlay)
    provenance.update(dict.fromkeys(overlay, where))
    if "recurring" in overlay:  # an environment adds tasks, or replaces them by name
        values["recurring"] = {**base_tasks, **overlay["recurring"]}
        provenance["recurring"] = name
        provenance.update({f"recurring.{task}": where for task in overlay["recurring"]})
    if "adapter_options" in values:
        values["adapter_options"] = config_sources.interpolate(
            values["adapter_options"], env, f"adapter_options in {name}"
        )
    return values, provenance


def _with_overrides(base: Settings) -> Settings:
    """`base` with the `configure` overrides, each noted as coming from ``jobframe.configure()``
    (replacing what the file or environment said of the key and its parts)."""
    provenance = {
        key: origin
        for key, origin in base.provenance.items()
        if key.split(".")[0] not in _overrides
    }
    provenance.update(dict.fromkeys(_overrides, "jobframe.configure()"))
    return dataclasses.replace(base, **_overrides, provenance=provenance)


def settings() -> Settings:
    """The effective settings: file and environment, then `configure` overrides."""
    global _loaded
    current = _loaded
    if current is None:
        with _lock:
            if _loaded is None:
                base = load()
                _loaded = _with_overrides(base) if _overrides else base
            current = _loaded
        if current.otel:  # read at the first enqueue and at a worker's start: both traced
            from jobframe.contrib.opentelemetry import instrument_from_settings

            instrument_from_settings(True)
    return current


def configure(**options: Any) -> Settings:
    """Override settings in code; wins over files and environment variables.

    Raises:
        ConfigurationError: an unknown key or a value of the wrong type.
    """
    global _loaded
    clean = _validate(options, "jobframe.configure()")
    if "adapter" in clean and "adapter_options" not in clean:
        # A new adapter does not inherit the options meant for the old one.
        clean["adapter_options"] = {}
    with _lock:
        _overrides.update(clean)
        _loaded = None
        new = settings()
    for listener in list(_listeners):
        listener(new)
    return new


def reload() -> None:
    """Re-read files and environment on next access, keeping `configure` overrides (called
    when a framework installs its settings as the source: `jobframe.config_sources.install`)."""
    global _loaded
    with _lock:
        _loaded = None
    if _listeners:
        try:
            current = settings()
        except ConfigurationError:
            return  # the next read of the settings raises it, where a caller sees it
        for listener in list(_listeners):
            listener(current)


def reset() -> None:
    """Forget `configure` overrides and re-read files and environment on next access (for tests)."""
    global _loaded
    with _lock:
        _overrides.clear()
        _loaded = None
    if _listeners:
        # `load()`, not `settings()`: caching here would pin the files of the current directory
        # before the caller (a test that chdirs or sets JOBFRAME_ENV) is done changing it.
        current = load()
        for listener in list(_listeners):
            listener(current)


def on_change(listener: Callable[[Settings], None]) -> None:
    """Call ``listener(settings)`` whenever `configure` or `reset` changes the settings."""
    _listeners.append(listener)
