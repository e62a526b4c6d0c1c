"""GlobalID URIs, the locator registry, signed ids, and the SQLAlchemy locator on real databases."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

import jobframe
from jobframe.arguments import deserialize, serialize
from jobframe.errors import (
    ConfigurationError,
    DeserializationError,
    RecordNotFound,
    SerializationError,
)
from jobframe.global_id import (
    GlobalID,
    SignedGlobalID,
    SQLAlchemyLocator,
    identify,
    locate,
    locate_signed,
    register_locator,
    unregister_locator,
)


@dataclass
class Note:
    id: str
    text: str = ""


class MemoryLocator:
    """Locates `Note`s kept in a dict."""

    def __init__(self, app: str | None = None) -> None:
        self.app = app
        self.rows: dict[str, Note] = {}

    def add(self, note: Note) -> Note:
        self.rows[note.id] = note
        return note

    def can_locate(self, model_name: str) -> bool:
        return model_name == "Note"

    def locate(self, gid: GlobalID) -> Any:
        try:
            return self.rows[gid.model_id]
        except KeyError:
            raise RecordNotFound(f"no note {gid.model_id}") from None

    def global_id_parts(self, model: Any) -> tuple[str, str] | None:
        return ("Note", model.id) if isinstance(model, Note) else None


@pytest.fixture
def notes() -> Iterator[MemoryLocator]:
    locator = register_locator(MemoryLocator())
    yield locator
    unregister_locator(locator)


def through_json(value: Any) -> Any:
    args, kwargs = serialize([value], {})
    text = json.dumps([args, kwargs], allow_nan=False)
    loaded_args, loaded_kwargs = json.loads(text)
    return deserialize(loaded_args, loaded_kwargs)[0][0]


# --- GlobalID ---------------------------------------------------------------------------------


def test_uri_parts_and_str() -> None:
    gid = GlobalID("shop", "Order", "42")
    assert gid.uri == str(gid) == "gid://shop/Order/42"
    assert (gid.app, gid.model_name, gid.model_id) == ("shop", "Order", "42")


def test_parts_are_url_quoted() -> None:
    gid = GlobalID("shop", "Order", "a/b c%")
    assert gid.uri == "gid://shop/Order/a%2Fb%20c%25"
    assert GlobalID.parse(gid.uri) == gid


def test_equality_and_hash() -> None:
    assert GlobalID("a", "B", "1") == GlobalID.parse("gid://a/B/1")
    assert len({GlobalID("a", "B", "1"), GlobalID("a", "B", "1"), GlobalID("a", "B", "2")}) == 2


@pytest.mark.parametrize(
    "text",
    [
        "",
        "gid://",
        "gid://app/Model",
        "gid://app/Model/",
        "gid://app//1",
        "gid://app/Model/1/2",
        "http://app/Model/1",
        "gid://app/Model/%ff",
        None,
        42,
    ],
)
def test_parse_returns_none_for_anything_else(text: Any) -> None:
    assert GlobalID.parse(text) is None


def test_parse_accepts_a_global_id() -> None:
    gid = GlobalID("a", "B", "1")
    assert GlobalID.parse(gid) is gid


def test_parts_must_be_non_empty_strings() -> None:
    with pytest.raises(ValueError):
        GlobalID("", "B", "1")


def test_jobframe_exports_global_id() -> None:
    assert jobframe.GlobalID is GlobalID
    assert jobframe.SignedGlobalID is SignedGlobalID


# --- locators ---------------------------------------------------------------------------------


def test_create_and_locate_with_a_registered_locator(notes: MemoryLocator) -> None:
    note = notes.add(Note("7"))
    gid = GlobalID.create(note)
    assert gid == GlobalID("jobframe", "Note", "7")
    assert gid.locate() is note
    assert locate(gid.uri) is note


def test_app_comes_from_settings_or_argument(notes: MemoryLocator) -> None:
    jobframe.configure(global_id_app="shop")
    assert GlobalID.create(Note("1")).app == "shop"
    assert GlobalID.create(Note("1"), app="other").app == "other"


def test_a_locator_with_an_app_serves_only_that_app() -> None:
    locator = MemoryLocator(app="billing")
    jobframe.configure(locators=[locator])
    note = locator.add(Note("1"))
    assert GlobalID.create(note).uri == "gid://billing/Note/1"
    assert locate("gid://billing/Note/1") is note
    with pytest.raises(DeserializationError, match="no locator for app 'jobframe'"):
        locate("gid://jobframe/Note/1")


def test_configured_locators_are_consulted() -> None:
    locator = MemoryLocator()
    jobframe.configure(locators=[locator])
    note = locator.add(Note("3"))
    assert through_json(note) is note


def test_unregister_locator(notes: MemoryLocator) -> None:
    unregister_locator(notes)
    assert identify(Note("1")) is None
    with pytest.raises(SerializationError, match="has no GlobalID"):
        GlobalID.create(Note("1"))
    register_locator(notes)  # the fixture unregisters it


def test_register_locator_checks_the_protocol() -> None:
    with pytest.raises(TypeError, match="Locator protocol"):
        register_locator(object())


def test_locate_rejects_non_gids_and_unknown_models(notes: MemoryLocator) -> None:
    with pytest.raises(DeserializationError, match="is not a GlobalID"):
        locate("nope")
    with pytest.raises(DeserializationError, match="can locate 'Order'"):
        locate("gid://jobframe/Order/1")


def test_a_model_argument_travels_as_its_gid(notes: MemoryLocator) -> None:
    note = notes.add(Note("9", "hello"))
    args, _ = serialize([note], {})
    assert args == [{"_jf": "gid", "value": "gid://jobframe/Note/9"}]
    assert through_json({"note": note, "others": (note,)}) == {"note": note, "others": (note,)}


def test_a_missing_row_is_a_deserialization_error_caused_by_record_not_found(
    notes: MemoryLocator,
) -> None:
    args, kwargs = serialize([], {"note": Note("gone")})
    with pytest.raises(DeserializationError, match=r"kwargs\['note'\]") as info:
        deserialize(args, kwargs)
    assert isinstance(info.value.__cause__, RecordNotFound)


def test_the_plugin_hook_registers_locators() -> None:
    import jobframe.plugins

    locator = MemoryLocator()

    class Plugin:
        @jobframe.hookimpl
        def register_locators(self, register: Any) -> None:
            register(locator)

    try:
        with jobframe.plugins.fresh_manager(entry_points=False):
            jobframe.plugins.register_plugin(Plugin(), "note-plugin")
            jobframe.plugins.ensure_loaded()
            note = locator.add(Note("1"))
            assert locate(GlobalID.create(note)) is note
    finally:
        unregister_locator(locator)


# --- SignedGlobalID ---------------------------------------------------------------------------


@pytest.fixture
def secret(notes: MemoryLocator) -> MemoryLocator:
    jobframe.configure(secret_key="s3cret")
    return notes


def test_signing_needs_a_secret_key(notes: MemoryLocator) -> None:
    with pytest.raises(ConfigurationError, match="secret_key"):
        SignedGlobalID.create(Note("1"))


def test_signed_round_trip(secret: MemoryLocator) -> None:
    note = secret.add(Note("1"))
    token = SignedGlobalID.create(note, purpose="login")
    assert token.replace("-", "").replace("_", "").replace(".", "").isalnum()
    assert SignedGlobalID.parse(token, purpose="login") == GlobalID.create(note)
    assert locate_signed(token, purpose="login") is note


def test_signed_wrong_purpose(secret: MemoryLocator) -> None:
    token = SignedGlobalID.create(Note("1"), purpose="login")
    assert SignedGlobalID.parse(token) is None
    assert SignedGlobalID.parse(token, purpose="share") is None
    assert locate_signed(token, purpose="share") is None


def test_signed_expiry(secret: MemoryLocator) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert SignedGlobalID.parse(SignedGlobalID.create(Note("1"), expires_at=past)) is None
    fresh = SignedGlobalID.create(Note("1"), expires_in=dt.timedelta(hours=1))
    assert SignedGlobalID.parse(fresh) == GlobalID("jobframe", "Note", "1")
    stale = SignedGlobalID.create(Note("1"), expires_in=dt.timedelta(seconds=-1))
    assert SignedGlobalID.parse(stale) is None


def test_signed_expires_at_must_be_aware(secret: MemoryLocator) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SignedGlobalID.create(Note("1"), expires_at=dt.datetime(2100, 1, 1))


def test_signed_tampering_is_detected(secret: MemoryLocator) -> None:
    token = SignedGlobalID.create(Note("1"))
    body, signature = token.split(".")
    forged = SignedGlobalID.create(GlobalID("jobframe", "Note", "2")).split(".")[0]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for bad in (f"{forged}.{signature}", f"{body}.{flipped}", body, f"{body}.", "", "é.é", 3):
        assert SignedGlobalID.parse(bad) is None


def test_signed_with_another_key_is_rejected(secret: MemoryLocator) -> None:
    token = SignedGlobalID.create(Note("1"))
    jobframe.configure(secret_key="other")
    assert SignedGlobalID.parse(token) is None


def test_signed_accepts_a_global_id(secret: MemoryLocator) -> None:
    gid = GlobalID("jobframe", "Note", "5")
    assert SignedGlobalID.parse(SignedGlobalID.create(gid)) == gid


# --- SQLAlchemy -------------------------------------------------------------------------------


@dataclass
class Schema:
    Base: Any
    Widget: Any
    Gadget: Any
    Session: Any
    engine: Any
    Tag: Any = None  # held here: SQLAlchemy's registry keeps mapped classes only weakly


def make_schema(url: str, suffix: str = "") -> Schema:
    class Base(orm.DeclarativeBase):
        pass

    class Widget(Base):
        __tablename__ = f"widgets{suffix}"
        id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
        name: orm.Mapped[str] = orm.mapped_column(sa.String(50))

    class Gadget(Base):
        __tablename__ = f"gadgets{suffix}"
        id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=uuid.uuid4)
        label: orm.Mapped[str] = orm.mapped_column(sa.String(50))

    class Tag(Base):
        __tablename__ = f"tags{suffix}"
        name: orm.Mapped[str] = orm.mapped_column(sa.String(30), primary_key=True)

    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    return Schema(Base, Widget, Gadget, orm.sessionmaker(engine), engine, Tag)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Schema]:
    schema = make_schema(f"sqlite:///{tmp_path / 'app.db'}")
    yield schema
    schema.engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "mariadb"]
)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Schema]:
    if request.param == "sqlite":
        schema = make_schema(f"sqlite:///{tmp_path / 'app.db'}")
    else:
        url = request.getfixturevalue(
            {"postgresql": "postgres_url"}.get(request.param, "mariadb_url")
        )
        schema = make_schema(url, suffix=f"_{uuid.uuid4().hex[:12]}")
    try:
        yield schema
    finally:
        schema.Base.metadata.drop_all(schema.engine)
        schema.engine.dispose()


def add(schema: Schema, obj: Any) -> Any:
    with schema.Session() as session, session.begin():
        session.add(obj)
    return obj


def test_sqlalchemy_models_round_trip_as_gids(db: Schema) -> None:
    jobframe.configure(global_id_app="shop", locators=[SQLAlchemyLocator(db.Session, db.Base)])
    widget = add(db, db.Widget(id=42, name="sprocket"))
    gadget = add(db, db.Gadget(label="doohickey"))
    # Committed, expired and detached: the id is still known without a session.
    gadget_id = sa.inspect(gadget).identity[0]
    args, kwargs = serialize([widget], {"gadget": gadget})
    assert args == [{"_jf": "gid", "value": "gid://shop/Widget/42"}]
    assert kwargs["gadget"]["value"] == f"gid://shop/Gadget/{gadget_id}"
    (loaded,), loaded_kwargs = deserialize(*json.loads(json.dumps([args, kwargs])))
    assert type(loaded) is db.Widget
    assert (loaded.id, loaded.name) == (42, "sprocket")
    assert loaded_kwargs["gadget"].id == gadget_id
    assert loaded_kwargs["gadget"].label == "doohickey"


def test_sqlalchemy_missing_row(db: Schema) -> None:
    jobframe.configure(locators=[SQLAlchemyLocator(db.Session, db.Base)])
    args, kwargs = serialize([db.Widget(id=404, name="never saved")], {})
    with pytest.raises(DeserializationError) as info:
        deserialize(args, kwargs)
    assert isinstance(info.value.__cause__, RecordNotFound)
    assert "Widget" in str(info.value)


def test_sqlalchemy_locator_never_locates_classes_outside_its_bases(sqlite: Schema) -> None:
    jobframe.configure(locators=[SQLAlchemyLocator(sqlite.Session, sqlite.Base)])
    for uri in ("gid://jobframe/Base/1", "gid://jobframe/Session/1", "gid://jobframe/os.system/1"):
        with pytest.raises(DeserializationError, match="can locate"):
            deserialize([{"_jf": "gid", "value": uri}], {})


def test_sqlalchemy_model_of_another_base_is_refused(sqlite: Schema, tmp_path: Path) -> None:
    other = make_schema(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        jobframe.configure(locators=[SQLAlchemyLocator(sqlite.Session, sqlite.Base)])
        assert identify(other.Widget(id=1, name="x")) is None
        with pytest.raises(SerializationError, match="no SQLAlchemyLocator is configured"):
            serialize([other.Widget(id=1, name="x")], {})
    finally:
        other.engine.dispose()


def test_an_unconfigured_sqlalchemy_model_gets_a_helpful_message(sqlite: Schema) -> None:
    with pytest.raises(SerializationError) as info:
        serialize([], {"widget": sqlite.Widget(id=1, name="x")})
    message = str(info.value)
    assert "kwargs['widget']" in message
    assert "the model `Widget` is a SQLAlchemy model" in message.replace("The model", "the model")
    assert "no SQLAlchemyLocator is configured for its base" in message
    assert "jobframe.configure(locators=[SQLAlchemyLocator(Session, Base)])" in message
    assert "widget.id" in message


def test_an_unflushed_model_cannot_be_identified(sqlite: Schema) -> None:
    jobframe.configure(locators=[SQLAlchemyLocator(sqlite.Session, sqlite.Base)])
    with pytest.raises(SerializationError, match=r"args\[0\].*flush"):
        serialize([sqlite.Widget(name="new")], {})


@pytest.mark.parametrize("bad_id", ["abc", " 1", "1.0", "+1", "٣"])
def test_an_id_of_the_wrong_type_is_a_deserialization_error(sqlite: Schema, bad_id: str) -> None:
    jobframe.configure(locators=[SQLAlchemyLocator(sqlite.Session, sqlite.Base)])
    gid = GlobalID("jobframe", "Widget", bad_id)
    with pytest.raises(DeserializationError, match="not a valid int primary key"):
        deserialize([{"_jf": "gid", "value": gid.uri}], {})


def test_duplicate_model_names_across_bases_are_a_configuration_error(
    sqlite: Schema, tmp_path: Path
) -> None:
    other = make_schema(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        locator = SQLAlchemyLocator(sqlite.Session, sqlite.Base, other.Base)
        with pytest.raises(ConfigurationError, match="two mapped classes are named"):
            locator.can_locate("Widget")
    finally:
        other.engine.dispose()


def test_a_locator_needs_a_base() -> None:
    with pytest.raises(ConfigurationError, match="at least one declarative base"):
        SQLAlchemyLocator(lambda: None)


def test_models_mapped_after_the_locator_was_built_are_found(sqlite: Schema) -> None:
    locator = SQLAlchemyLocator(sqlite.Session, sqlite.Base)
    assert not locator.can_locate("Gizmo")

    class Gizmo(sqlite.Base):  # type: ignore[name-defined,misc]
        __tablename__ = "gizmos"
        id: orm.Mapped[int] = orm.mapped_column(primary_key=True)

    assert locator.can_locate("Gizmo")


@pytest.mark.parametrize("model_id", ["9" * 30, str(2**63), str(-(2**63) - 1), str(2**31)])
def test_an_id_no_row_can_have_is_record_not_found(db: Schema, model_id: str) -> None:
    jobframe.configure(global_id_app="shop", locators=[SQLAlchemyLocator(db.Session, db.Base)])
    uri = f"gid://shop/Widget/{model_id}"
    with pytest.raises(DeserializationError) as info:
        deserialize([{"_jf": "gid", "value": uri}], {})
    assert isinstance(info.value.__cause__, RecordNotFound)
    assert uri in str(info.value)


def test_a_database_error_while_locating_is_a_deserialization_error(db: Schema) -> None:
    jobframe.configure(global_id_app="shop", locators=[SQLAlchemyLocator(db.Session, db.Base)])
    uri = "gid://shop/Tag/a%00b"  # PostgreSQL refuses NUL in text: DataError
    with pytest.raises(DeserializationError) as info:
        deserialize([{"_jf": "gid", "value": uri}], {})
    assert "gid://shop/Tag/a" in str(info.value)
    cause = info.value.__cause__
    assert isinstance(cause, RecordNotFound | DeserializationError)
    if db.engine.dialect.name == "postgresql":
        assert "could not look up this Tag: DataError" in str(info.value)
