"""Models passed to jobs by GlobalID: located when the job runs; a deleted row is discarded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from test_global_id import Schema, add, db  # noqa: F401 - the `db` fixture (SQLite, PostgreSQL)

import jobframe
from jobframe import registry
from jobframe.global_id import SQLAlchemyLocator
from jobframe.testing import JobsHelper

seen: list[Any] = []


@dataclass(frozen=True)
class Widgets:
    """The database (SQLite, PostgreSQL, MariaDB) and two jobs taking a widget by GlobalID:
    ``rename`` discards on `DeserializationError`, ``strict`` does not."""

    db: Schema
    rename: type[jobframe.Job]
    strict: type[jobframe.Job]

    def add(self, id: int, name: str) -> Any:
        return add(self.db, self.db.Widget(id=id, name=name))


@pytest.fixture
def widgets(db: Schema) -> Iterator[Widgets]:  # noqa: F811
    jobframe.configure(global_id_app="shop", locators=[SQLAlchemyLocator(db.Session, db.Base)])

    @jobframe.discard_on(jobframe.DeserializationError)
    class RenameWidgetJob(jobframe.Job):
        @jobframe.after_discard
        def note(self, exc: BaseException) -> None:
            seen.append(exc)

        def perform(self, widget: Any, name: str) -> None:
            seen.append((widget.id, widget.name, name))

    class StrictWidgetJob(jobframe.Job):
        def perform(self, widget: Any) -> None:
            seen.append(widget)

    seen.clear()
    yield Widgets(db, RenameWidgetJob, StrictWidgetJob)
    registry.unregister(RenameWidgetJob)
    registry.unregister(StrictWidgetJob)


def test_the_model_is_located_again_when_the_job_runs(widgets: Widgets, jobs: JobsHelper) -> None:
    widget = widgets.add(id=7, name="old")
    widgets.rename.perform_later(widget, "new")
    assert jobs.enqueued_jobs[0].payload["arguments"][0] == {
        "_jf": "gid",
        "value": "gid://shop/Widget/7",
    }
    with widgets.db.Session() as session, session.begin():
        session.get(widgets.db.Widget, 7).name = "changed meanwhile"
    jobs.perform_enqueued_jobs()
    assert seen == [(7, "changed meanwhile", "new")]


def test_a_deleted_row_is_discarded_with_discard_on(widgets: Widgets, jobs: JobsHelper) -> None:
    widget = widgets.add(id=8, name="doomed")
    widgets.rename.perform_later(widget, "never")
    widgets.strict.perform_later(widget)
    with widgets.db.Session() as session, session.begin():
        session.delete(session.get(widgets.db.Widget, 8))
    with pytest.raises(jobframe.DeserializationError) as failure:
        jobs.perform_enqueued_jobs()
    assert isinstance(failure.value.__cause__, jobframe.RecordNotFound)
    assert len(seen) == 1 and isinstance(seen[0], jobframe.DeserializationError)
    assert len(jobs.performed_jobs) == 2


def test_assert_enqueued_with_matches_a_model_by_its_global_id(
    widgets: Widgets, jobs: JobsHelper
) -> None:
    widget = widgets.add(id=7, name="old")
    widgets.rename.perform_later(widget, "new")
    jobs.assert_enqueued_with(job=widgets.rename, args=[widget, "new"])
    jobs.assert_enqueued_with(args=(widgets.db.Widget(id=7, name="another copy"), "new"))
    with pytest.raises(AssertionError) as info:
        jobs.assert_enqueued_with(args=[widgets.db.Widget(id=8, name="other"), "new"])
    listing = str(info.value)
    assert "(gid://shop/Widget/7, 'new')" in listing
    assert " object at 0x" not in listing


def test_assert_performed_with_and_kwargs_match_by_global_id(
    widgets: Widgets, jobs: JobsHelper
) -> None:
    widget = widgets.add(id=9, name="old")
    widgets.rename.perform_later(widget=widget, name="new")
    jobs.perform_enqueued_jobs()
    jobs.assert_performed_with(job=widgets.rename, kwargs={"widget": widget, "name": "new"})


def test_log_lines_show_models_as_their_global_id(
    widgets: Widgets, jobs: JobsHelper, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="jobframe")  # the Performing line is at DEBUG
    widgets.strict.perform_later({"widgets": [widgets.add(id=3, name="a")]})
    jobs.perform_enqueued_jobs()
    lines = [r.getMessage() for r in caplog.records if "with arguments" in r.getMessage()]
    assert len(lines) == 2  # Enqueued, Performing
    shown = "with arguments: {'widgets': [gid://shop/Widget/3]}"
    assert all(line.endswith(shown) for line in lines)
