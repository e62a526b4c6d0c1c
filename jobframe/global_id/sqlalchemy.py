"""`SQLAlchemyLocator`: GlobalIDs for the mapped classes of given declarative bases.

Models are found among the mapped classes of the given bases (``Base.registry.mappers``), so a
payload can only ever name one of those classes. SQLAlchemy is imported only when used.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from jobframe.errors import (
    ConfigurationError,
    DeserializationError,
    RecordNotFound,
    SerializationError,
)
from jobframe.global_id.uri import GlobalID

#: The largest id an integer primary key column holds, by its SQLAlchemy type; SQLite keeps
#: 64-bit integers in any INTEGER column.
_INT_BITS = {"SmallInteger": 15, "Integer": 31, "BigInteger": 63}


def _fits(pk: int, cls: Any, session: Any) -> bool:
    """Whether `pk` fits the primary key column of `cls` on the session's database (a bigger
    id cannot name a row, and PostgreSQL and SQLite raise on it rather than find nothing)."""
    column = cls.__mapper__.primary_key[0]
    bits = 63
    if session.get_bind(mapper=cls.__mapper__).dialect.name != "sqlite":
        for klass in type(column.type).__mro__:
            if klass.__name__ in _INT_BITS:
                bits = _INT_BITS[klass.__name__]
                break
    limit = 1 << bits
    return -limit <= pk < limit


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"


class SQLAlchemyLocator:
    """Locates instances of the models mapped on `bases`, by class name and primary key.

    A located model is loaded with ``session.get`` in a fresh session from `session_factory`,
    expunged and the session closed: its column attributes are loaded and usable, but lazy
    relationships and deferred columns are not (merge it into your own session to use them).

    Parameters:
        session_factory: a callable returning a new `Session`, e.g. a `sessionmaker`.
        bases: declarative bases (or registries' owners) whose mapped classes may be located.
        app: the GlobalID app this locator serves (default: the ``global_id_app`` setting).

    Raises:
        ConfigurationError: no bases, or two mapped classes share a name (on first use).
    """

    def __init__(
        self, session_factory: Callable[[], Any], *bases: Any, app: str | None = None
    ) -> None:
        if not bases:
            raise ConfigurationError("SQLAlchemyLocator needs at least one declarative base.")
        self.session_factory = session_factory
        self.bases = bases
        self.app = app
        self._lock = threading.Lock()
        self._models: dict[str, Any] = {}
        self._seen: frozenset[Any] = frozenset()

    def __repr__(self) -> str:
        names = ", ".join(base.__qualname__ for base in self.bases)
        return f"SQLAlchemyLocator({names})"

    def models(self) -> dict[str, Any]:
        """Model name -> mapped class, for every class mapped on the bases so far."""
        mappers = frozenset(m for base in self.bases for m in base.registry.mappers)
        if mappers == self._seen:
            return self._models
        models: dict[str, Any] = {}
        for mapper in mappers:
            cls = mapper.class_
            other = models.setdefault(cls.__name__, cls)
            if other is not cls:
                raise ConfigurationError(
                    f"{self!r}: two mapped classes are named {cls.__name__!r} "
                    f"({other.__module__} and {cls.__module__}); GlobalIDs name models by "
                    "class name, so give them distinct names or use separate locators."
                )
        with self._lock:
            self._models, self._seen = models, mappers
        return models

    def can_locate(self, model_name: str) -> bool:
        """Whether `model_name` is a class mapped on the bases."""
        return model_name in self.models()

    def global_id_parts(self, model: Any) -> tuple[str, str] | None:
        """``(class name, primary key)`` for an instance of a class mapped on the bases, else None.

        Raises:
            SerializationError: the instance has no primary key yet, or a composite one.
        """
        cls = type(model)
        if self.models().get(cls.__name__) is not cls:
            return None
        from sqlalchemy import inspect

        # A committed instance keeps its identity even once expired and detached, where reading
        # the key attributes would need a session; unsaved ones only have what was assigned.
        key = inspect(model).identity or cls.__mapper__.primary_key_from_instance(model)
        if len(key) != 1:
            raise SerializationError(
                f"{cls.__name__} has a composite primary key; GlobalIDs need a single-column "
                "key. Pass the key values instead."
            )
        if key[0] is None:
            raise SerializationError(
                f"this {cls.__name__} has no primary key yet: flush or commit the session "
                "before enqueueing the job."
            )
        return cls.__name__, str(key[0])

    def locate(self, gid: GlobalID) -> Any:
        """The row `gid` names, loaded in a fresh session and detached from it.

        Raises:
            DeserializationError: the model is not mapped on the bases, or the id is malformed.
            RecordNotFound: there is no such row.
        """
        cls = self.models().get(gid.model_name)
        if cls is None:
            raise DeserializationError(f"{self!r} cannot locate {gid.model_name!r} ({gid}).")
        pk = self._typed_id(cls, gid)
        session = self.session_factory()
        try:
            if type(pk) is int and not _fits(pk, cls, session):
                raise RecordNotFound(
                    f"{gid}: there is no {cls.__name__} with id {_short(pk)}: its primary key "
                    "column cannot hold a number that large."
                )
            obj = self._get(session, cls, pk, gid)
            if obj is None:
                raise RecordNotFound(f"{gid}: there is no {cls.__name__} with id {pk!r}.")
            session.expunge(obj)
        finally:
            session.close()
        return obj

    def locate_many(self, gids: Sequence[GlobalID]) -> dict[GlobalID, Any]:
        """The rows `gids` (one model name) name, loaded with one ``SELECT ... IN`` in a fresh
        session and detached; missing rows and malformed ids are left out (`locate` explains
        them). See `jobframe.global_id.bulk`.

        Raises:
            DeserializationError: the database refused the query (not for a connection error).
        """
        cls = self.models().get(gids[0].model_name) if gids else None
        if cls is None:
            return {}
        typed: dict[GlobalID, Any] = {}
        for gid in gids:
            with contextlib.suppress(DeserializationError):
                typed[gid] = self._typed_id(cls, gid)
        if not typed:
            return {}
        from sqlalchemy import inspect, select

        session = self.session_factory()
        try:
            pks = [pk for pk in typed.values() if type(pk) is not int or _fits(pk, cls, session)]
            column = cls.__mapper__.primary_key[0]
            query = select(cls).where(column.in_(pks))
            rows = self._get(session, cls, pks, next(iter(typed)), query)
            by_pk = {inspect(row).identity[0]: row for row in rows}
            session.expunge_all()
        finally:
            session.close()
        return {gid: by_pk[pk] for gid, pk in typed.items() if pk in by_pk}

    @staticmethod
    def _get(session: Any, cls: Any, pk: Any, gid: GlobalID, query: Any = None) -> Any:
        """``session.get``; a database error other than an unreachable database becomes a
        `DeserializationError` naming `gid`, which ``discard_on(DeserializationError)`` sees.
        Connection errors stay themselves: an outage must not discard jobs, and ``retry_on``
        can retry them."""
        from sqlalchemy import exc as sa_exc

        transient = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
        try:
            return session.get(cls, pk) if query is None else session.scalars(query).all()
        except transient:
            raise
        except (sa_exc.SQLAlchemyError, OverflowError) as exc:
            raise DeserializationError(
                f"{gid}: the database could not look up this {cls.__name__}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            ) from exc

    @staticmethod
    def _typed_id(cls: Any, gid: GlobalID) -> Any:
        column = cls.__mapper__.primary_key[0]
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            return gid.model_id
        try:
            if python_type is int:
                # int() would also accept " 42", "4_2" and "+42": ids travel in one form only.
                if not gid.model_id.lstrip("-").isdigit() or not gid.model_id.isascii():
                    raise ValueError("not an integer")
                return int(gid.model_id)
            if python_type is uuid.UUID:
                return uuid.UUID(gid.model_id)
            return python_type(gid.model_id) if python_type is not str else gid.model_id
        except (TypeError, ValueError) as exc:
            raise DeserializationError(
                f"{gid}: {gid.model_id!r} is not a valid {python_type.__name__} primary key "
                f"for {cls.__name__}."
            ) from exc
