"""`DjangoLocator`: GlobalIDs for Django models, ``gid://APP/app_label.Model/pk``.

A model instance passed to a job is stored as its GlobalID and loaded again, when the job runs,
with the model's default manager (so Django's database routers choose the database, as for any
read). Many instances of one model in a job's arguments are loaded with one ``in_bulk`` query
(`jobframe.global_id.BulkLocator`). A row deleted meanwhile raises `RecordNotFound`, a
`DeserializationError`, which ``discard_on(jobframe.DeserializationError)`` sees. Signed ids are
jobframe's `SignedGlobalID` (keyed by jobframe's ``secret_key``, Django's ``SECRET_KEY`` unless
``JOBFRAME`` sets one). ``install()`` registers the locator; jobframe's AppConfig calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, models

from jobframe.errors import DeserializationError, RecordNotFound, SerializationError
from jobframe.global_id import GlobalID, register_locator, unregister_locator

T = TypeVar("T")


class DjangoLocator:
    """Locates instances of installed Django models by ``app_label.ModelName`` and primary key.

    Parameters:
        app_labels: only models of these apps may be located or passed (default: every
            installed app); a payload can never name a model outside them.
        app: the GlobalID app this locator serves (default: the ``global_id_app`` setting).
    """

    def __init__(self, app_labels: Iterable[str] | None = None, app: str | None = None) -> None:
        self.app_labels = None if app_labels is None else frozenset(app_labels)
        self.app = app

    def __repr__(self) -> str:
        only = "" if self.app_labels is None else f"app_labels={sorted(self.app_labels)}"
        return f"DjangoLocator({only})"

    def model(self, model_name: str) -> type[models.Model] | None:
        """The installed model named ``app_label.ModelName`` (case as Django's label), or None."""
        app_label, dot, name = model_name.partition(".")
        if not dot or (self.app_labels is not None and app_label not in self.app_labels):
            return None
        try:
            found = apps.get_model(app_label, name)
        except LookupError:
            return None
        # get_model ignores case; a GlobalID names a model one way only.
        return found if found._meta.label == model_name else None

    def can_locate(self, model_name: str) -> bool:
        """Whether ``model_name`` is an installed model this locator covers."""
        return self.model(model_name) is not None

    def global_id_parts(self, model: Any) -> tuple[str, str] | None:
        """``("app_label.Model", pk)`` for a saved instance of a covered model, else None.

        Raises:
            SerializationError: the instance is not saved yet (it has no primary key).
        """
        if not isinstance(model, models.Model):
            return None
        meta = model._meta
        if self.app_labels is not None and meta.app_label not in self.app_labels:
            return None
        if model.pk is None:
            raise SerializationError(
                f"this {meta.label} has no primary key yet: save() it before enqueueing the "
                "job (with enqueue_after_commit, inside the transaction is fine)."
            )
        return meta.label, str(model.pk)

    def locate(self, gid: GlobalID) -> Any:
        """The row ``gid`` names, from the model's default manager.

        Raises:
            DeserializationError: the model is not covered, or the id is malformed.
            RecordNotFound: there is no such row.
        """
        cls = self._model_of(gid)
        pk = self._typed_id(cls, gid)
        try:
            return _query(gid, lambda: cls._default_manager.get(pk=pk))
        except cls.DoesNotExist:
            raise RecordNotFound(
                f"{gid}: there is no {cls._meta.label} with id {gid.model_id!r}."
            ) from None

    def locate_many(self, gids: Sequence[GlobalID]) -> dict[GlobalID, Any]:
        """The rows ``gids`` (one model) name, with one ``in_bulk`` query (batched by Django on
        databases that cap query parameters); missing rows and malformed ids are left out.

        Raises:
            DeserializationError: the model is not covered, or the database refused the query.
        """
        if not gids:
            return {}
        cls = self._model_of(gids[0])
        typed: dict[GlobalID, Any] = {}
        for gid in gids:
            try:
                typed[gid] = self._typed_id(cls, gid)
            except DeserializationError:
                continue  # `locate` reports it
        rows = _query(gids[0], lambda: cls._default_manager.in_bulk(list(typed.values())))
        return {gid: rows[pk] for gid, pk in typed.items() if pk in rows}

    def _model_of(self, gid: GlobalID) -> type[models.Model]:
        cls = self.model(gid.model_name)
        if cls is None:
            raise DeserializationError(f"{self!r} cannot locate {gid.model_name!r} ({gid}).")
        return cls

    @staticmethod
    def _typed_id(cls: type[models.Model], gid: GlobalID) -> Any:
        try:
            return cls._meta.pk.to_python(gid.model_id)
        except ValidationError as exc:
            raise DeserializationError(
                f"{gid}: {gid.model_id!r} is not a valid primary key for {cls._meta.label}."
            ) from exc


def _query(gid: GlobalID, run: Callable[[], T]) -> T:
    """``run()``; a database error other than an unreachable database becomes a
    `DeserializationError` naming ``gid``. Connection errors stay themselves: an outage must not
    discard jobs, and ``retry_on`` can retry them."""
    try:
        return run()
    except (OperationalError, InterfaceError):
        raise
    except DatabaseError as exc:
        raise DeserializationError(
            f"{gid}: the database could not look up this {gid.model_name}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        ) from exc


_installed: list[DjangoLocator] = []


def install(app: str | None = None) -> DjangoLocator:
    """Register a `DjangoLocator` (once: later calls return the registered one)."""
    if not _installed:
        _installed.append(register_locator(DjangoLocator(app=app)))
    return _installed[0]


def uninstall() -> None:
    """Unregister the `DjangoLocator` that `install` registered."""
    while _installed:
        unregister_locator(_installed.pop())


__all__ = ["DjangoLocator", "install", "uninstall"]
