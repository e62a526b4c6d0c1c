"""Where the settings are read from: a configuration file, or a mapping a framework supplies.

A file is ``[tool.jobframe]`` in the nearest ``pyproject.toml`` (or a ``jobframe.toml``, whose keys
sit at the top level) found from the current directory upward. A framework integration may
install a `MappingSource` instead (Django's ``settings.JOBFRAME``: `jobframe.contrib.django`):
the same keys, ``environments`` included, read and checked the same way, with errors naming
that source instead of a file.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jobframe.errors import ConfigurationError

__all__ = [
    "ConfigSource",
    "FileSource",
    "MappingSource",
    "file_source",
    "find_config_file",
    "install",
    "installed",
    "interpolate",
    "source",
    "uninstall",
]


@dataclasses.dataclass(frozen=True)
class ConfigSource:
    """A table of settings with its ``environments``, and how errors name its parts."""

    #: how errors name the source: a file's path, or e.g. ``settings.JOBFRAME``
    name: str
    table: Mapping[str, Any]
    #: values below the table's, by key: (value, where it came from), e.g. Django's SECRET_KEY
    defaults: Mapping[str, tuple[Any, str]] = dataclasses.field(default_factory=dict)

    def where(self, environment: str) -> str:
        """How errors name the table of ``environment``."""
        raise NotImplementedError

    def missing(self, environment: str, named: str) -> str:
        """The error for a ``JOBFRAME_ENV`` that has no table (``named``: the ones there are)."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class FileSource(ConfigSource):
    """``[tool.jobframe]`` of a ``pyproject.toml``, or a whole ``jobframe.toml``."""

    path: Path = Path("pyproject.toml")

    def _table(self, environment: str) -> str:
        stem = "environments" if self.path.name == "jobframe.toml" else "tool.jobframe.environments"
        return f"{stem}.{environment}"

    def where(self, environment: str) -> str:
        return f"{self.path} [{self._table(environment)}]"

    def missing(self, environment: str, named: str) -> str:
        path = self.path
        return (
            f"JOBFRAME_ENV is {environment!r}, but {path} has no [{self._table(environment)}] "
            f"table (its environments: {named}). Fix JOBFRAME_ENV, or add that table to {path} "
            "(an empty table uses the base settings)."
        )


@dataclasses.dataclass(frozen=True)
class MappingSource(ConfigSource):
    """A dict a framework holds, such as Django's ``settings.JOBFRAME``."""

    def where(self, environment: str) -> str:
        return f"{self.name}['environments'][{environment!r}]"

    def missing(self, environment: str, named: str) -> str:
        return (
            f"JOBFRAME_ENV is {environment!r}, but {self.name} has no 'environments' entry "
            f"{environment!r} (its environments: {named}). Fix JOBFRAME_ENV, or add "
            f"{self.where(environment)} (an empty dict uses the base settings)."
        )


def find_config_file(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest ``jobframe.toml`` or ``pyproject.toml`` with a ``[tool.jobframe]`` table."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        own = folder / "jobframe.toml"
        if own.is_file():
            return own, _read_toml(own)
        project = folder / "pyproject.toml"
        if project.is_file():
            table = _read_toml(project).get("tool", {}).get("jobframe")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigurationError(f"[tool.jobframe] in {project} must be a table.")
                return project, table
    return None


def file_source(start: Path | None = None) -> FileSource | None:
    """The nearest configuration file as a source, or None when there is none."""
    found = find_config_file(start)
    if found is None:
        return None
    path, table = found
    return FileSource(name=str(path), table=table, path=path)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}. Fix the file.") from exc


_VARIABLE = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(value: Any, env: Mapping[str, str], where: str) -> Any:
    """``value`` with ``${NAME}`` / ``${NAME:-default}`` replaced from ``env``, recursively."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, where) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        escaped, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigurationError(
            f"{where} uses ${{{name}}}, but the environment variable {name} is not set: set it, "
            f"or give a default as ${{{name}:-value}}."
        )

    return _VARIABLE.sub(replace, value)


_lock = threading.Lock()
_installed: list[Callable[[], ConfigSource | None]] = []


def install(provider: Callable[[], ConfigSource | None]) -> None:
    """Read the settings from what ``provider()`` returns, instead of a file, when it returns a
    source (None: the file, as without it). The last one installed is asked first."""
    with _lock:
        if provider not in _installed:
            _installed.append(provider)
    _reload()


def uninstall(provider: Callable[[], ConfigSource | None]) -> None:
    """Forget a provider given to `install`."""
    with _lock:
        if provider in _installed:
            _installed.remove(provider)
    _reload()


def installed(provider: Callable[[], ConfigSource | None]) -> bool:
    """Whether ``provider`` was given to `install` (and not uninstalled)."""
    return provider in _installed


def source(start: Path | None = None) -> ConfigSource | None:
    """Where the settings come from: an installed provider's source, else the nearest file.

    An explicit ``start`` folder always means the file found from there (it is what asks).
    """
    if start is None:
        for provider in reversed(list(_installed)):
            found = provider()
            if found is not None:
                return found
    return file_source(start)


def _reload() -> None:
    from jobframe import config  # config reads through this module: imported when used

    config.reload()
