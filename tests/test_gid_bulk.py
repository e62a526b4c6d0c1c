"""Bulk locating (`jobframe.global_id.bulk`): many models of one class in a job's arguments are
found with one `BulkLocator.locate_many` call (one query for the SQLAlchemy locator)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from test_global_id import MemoryLocator, Note, Schema, add, db  # noqa: F401 - the `db` fixture

import jobframe
from jobframe.arguments import deserialize, serialize
from jobframe.errors import DeserializationError, RecordNotFound
from jobframe.global_id import (
    BulkLocator,
    GlobalID,
    SQLAlchemyLocator,
    register_locator,
    unregister_locator,
)
from jobframe.global_id.bulk import gids_in
from jobframe.testing import JobsHelper


class BulkMemoryLocator(MemoryLocator):
    """`MemoryLocator` with `locate_many`; counts the calls of each."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def locate(self, gid: GlobalID) -> Any:
        self.calls.append(("locate", 1))
        return super().locate(gid)

    def locate_many(self, gids: Sequence[GlobalID]) -> dict[GlobalID, Any]:
        self.calls.append(("locate_many", len(gids)))
        return {gid: self.rows[gid.model_id] for gid in gids if gid.model_id in self.rows}


@pytest.fixture
def notes() -> Iterator[BulkMemoryLocator]:
    locator = register_locator(BulkMemoryLocator())
    yield locator
    unregister_locator(locator)


def round_trip(args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    return deserialize(*serialize(args, kwargs))


def test_many_models_of_a_class_are_located_with_one_call(notes: BulkMemoryLocator) -> None:
    assert isinstance(notes, BulkLocator)
    many = [notes.add(Note(str(i))) for i in range(100)]
    one = notes.add(Note("solo"))

    args, kwargs = round_trip([many], {"again": many[:3], "nested": {"x": (one,)}})

    assert args == [many] and kwargs == {"again": many[:3], "nested": {"x": (one,)}}
    assert args[0][0] is many[0]
    assert notes.calls == [("locate_many", 101)], "each distinct id, once, in one call"

    notes.calls.clear()
    assert round_trip([one], {}) == ([one], {})
    assert notes.calls == [("locate", 1)], "a single model is located alone"


def test_a_row_missing_from_the_bulk_answer_raises_record_not_found(
    notes: BulkMemoryLocator,
) -> None:
    kept = notes.add(Note("1"))
    gone = notes.add(Note("2"))
    args, kwargs = serialize([[kept, gone]], {})
    del notes.rows["2"]

    with pytest.raises(DeserializationError, match=r"args\[0\]\[1\]") as failure:
        deserialize(args, kwargs)
    assert isinstance(failure.value.__cause__, RecordNotFound)
    assert notes.calls == [("locate_many", 2), ("locate", 1)]


def test_gids_in_finds_marked_gids_at_any_depth() -> None:
    args, kwargs = serialize([("x", [{"k": frozenset({1})}])], {"n": {1: "one"}})
    assert gids_in([args, kwargs]) == []
    data = [[{"_jf": "gid", "value": "gid://a/B/1"}], {"k": {"_jf": "gid", "value": "gid://a/B/2"}}]
    assert gids_in(data) == [GlobalID("a", "B", "1"), GlobalID("a", "B", "2")]


def test_sqlalchemy_locates_many_rows_with_one_query_per_class(
    db: Schema,  # noqa: F811
    jobs: JobsHelper,
) -> None:
    jobframe.configure(global_id_app="shop", locators=[SQLAlchemyLocator(db.Session, db.Base)])
    with db.Session() as session, session.begin():
        session.add_all(db.Widget(id=i, name=f"w{i}") for i in range(1, 101))
        session.add_all(db.Gadget(label=f"g{i}") for i in range(3))
    with db.Session() as session:
        widgets = session.scalars(sa.select(db.Widget).order_by(db.Widget.id)).all()
        gadgets = session.scalars(sa.select(db.Gadget)).all()
    statements: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    args, kwargs = round_trip([list(widgets)], {"gadgets": list(gadgets)})

    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects
    assert [w.name for w in args[0]] == [f"w{i}" for i in range(1, 101)]
    assert {g.label for g in kwargs["gadgets"]} == {"g0", "g1", "g2"}

    with db.Session() as session, session.begin():
        session.execute(sa.delete(db.Widget).where(db.Widget.id == 50))
    with pytest.raises(DeserializationError, match=r"args\[0\]\[49\]") as failure:
        round_trip([list(widgets)], {})
    assert isinstance(failure.value.__cause__, RecordNotFound)
