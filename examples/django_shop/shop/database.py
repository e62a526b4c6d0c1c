"""One ``DATABASE_URL`` for Django and for jobframe's SQL adapter, so jobs are stored next to
the orders: ``sqlite:///path/to/file.sqlite3`` (the default: a file of this folder) or
``postgresql://user:password@host:port/name``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg")


def django_database(url: str) -> dict[str, Any]:
    """The ``DATABASES["default"]`` entry for ``url``.

    Raises:
        ValueError: the scheme is neither SQLite nor PostgreSQL.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": sqlite_path(url)}
    if parts.scheme in POSTGRES_SCHEMES:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    raise ValueError(
        f"DATABASE_URL has the scheme {parts.scheme!r}; use sqlite:///path/to/file.sqlite3 "
        "or postgresql://user@host:5432/name"
    )


def jobframe_url(url: str) -> str:
    """The same database as an SQLAlchemy URL for jobframe's SQL adapter (psycopg 3 driver)."""
    scheme, sep, rest = url.partition("://")
    if scheme in POSTGRES_SCHEMES:
        return f"postgresql+psycopg{sep}{rest}"
    return f"sqlite:///{sqlite_path(url)}"


def sqlite_path(url: str) -> str:
    """``sqlite:///db.sqlite3`` is relative to the current folder, ``sqlite:////tmp/x`` absolute,
    as in SQLAlchemy; the path is made absolute so Django and jobframe open the same file."""
    return str(Path(url.removeprefix("sqlite:///")).resolve())
