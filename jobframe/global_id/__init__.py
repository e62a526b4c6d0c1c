"""GlobalID: app-wide URIs for model instances, their locators, and signed ids.

A model passed as a job argument is stored as its GlobalID and located again when the job runs;
many models of one class in one job's arguments are located with one query when their locator
is a `BulkLocator`.
`SQLAlchemyLocator` is imported on first access so that this package never imports SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobframe.global_id.bulk import BulkLocator
from jobframe.global_id.locator import (
    Locator,
    identify,
    locate,
    locators,
    missing_locator_hint,
    register_locator,
    unregister_locator,
)
from jobframe.global_id.signed import SignedGlobalID, locate_signed
from jobframe.global_id.uri import GlobalID

if TYPE_CHECKING:
    from jobframe.global_id.sqlalchemy import SQLAlchemyLocator


def __getattr__(name: str) -> Any:
    if name == "SQLAlchemyLocator":
        from jobframe.global_id.sqlalchemy import SQLAlchemyLocator

        return SQLAlchemyLocator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BulkLocator",
    "GlobalID",
    "Locator",
    "SQLAlchemyLocator",
    "SignedGlobalID",
    "identify",
    "locate",
    "locate_signed",
    "locators",
    "missing_locator_hint",
    "register_locator",
    "unregister_locator",
]
