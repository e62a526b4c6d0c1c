"""The app's own data: SQLAlchemy 2 models in a SQLite file that the enqueuer and worker share.

Importing this module registers a `SQLAlchemyLocator` for its `Base`, so a `Widget` passed to
``perform_later`` travels as ``gid://cookbook/Widget/<id>`` and the worker loads the row again.
The worker imports this module through the recipe's, so it registers the same locator there; the
session factory opens the database named by ``$COOKBOOK_DATA`` when a job first needs it.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from cookbook.sandbox import data_folder
from jobframe.global_id import SQLAlchemyLocator, register_locator


class Base(DeclarativeBase):
    pass


class Widget(Base):
    """Something the shop sells. Prices are whole cents: SQLite has no exact decimal type."""

    __tablename__ = "widgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    price_cents: Mapped[int]


class Product(Base):
    """A row of the bulk import; `sku` is unique so that importing a line twice updates it."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    quantity: Mapped[int]


def engine() -> sa.Engine:
    """The engine of ``shop.sqlite3`` in the data folder, with its tables created on first use."""
    path = str(data_folder() / "shop.sqlite3")
    with _lock:  # a worker's threads may all ask at once: create the engine and tables once
        if path not in _engines:
            created = sa.create_engine(f"sqlite:///{path}")
            sa.event.listen(created, "connect", _use_wal)
            Base.metadata.create_all(created)
            _engines[path] = created
        return _engines[path]


_lock = threading.Lock()
_engines: dict[str, sa.Engine] = {}


def _use_wal(connection: Any, record: Any) -> None:
    # The enqueuer reads while worker threads write: WAL lets readers and a writer overlap.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")


def dispose_engines() -> None:
    """Close the connections of every engine made so far (tests use one database each)."""
    with _lock:
        for made in _engines.values():
            made.dispose()
        _engines.clear()


def new_session() -> Session:
    """A session on the shop database; what the locator opens to load a model for a job."""
    return Session(engine(), expire_on_commit=False)


def price(cents: int) -> str:
    """Cents as the shop prints them: ``1250`` -> ``$12.50``."""
    return f"${cents / 100:.2f}"


LOCATOR = register_locator(SQLAlchemyLocator(new_session, Base, app="cookbook"))
