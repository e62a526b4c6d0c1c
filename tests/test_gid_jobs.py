"""Models passed to jobs by GlobalID: located when the job runs; a deleted row is discarded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_global_id import Schema, add, db  # noqa: F401 - the `db` fixture (SQLite, PostgreSQL)

import jobframe
from jobframe import registry
from jobframe.global_id import SQLAlchemyLocator
from jobframe.testing import JobsHelper

seen: list[Any] = []


@pytest.fixture
def widget_jobs(db: Schema) -> Iterator[tuple[type[jobframe.Job], type[jobframe.Job]]]:  # noqa: F811
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
    yield RenameWidgetJob, StrictWidgetJob
    registry.unregister(RenameWidgetJob)
    registry.unregister(StrictWidgetJob)


def test_the_model_is_located_again_when_the_job_runs(
    db: Schema,  # noqa: F811
    widget_jobs: tuple[type[jobframe.Job], type[jobframe.Job]],
    jobs: JobsHelper,
) -> None:
    rename, _ = widget_jobs
    widget = add(db, db.Widget(id=7, name="old"))
    rename.perform_later(widget, "new")
    assert jobs.enqueued_jobs[0].payload["arguments"][0] == {
        "_jf": "gid",
        "value": "gid://shop/Widget/7",
    }
    with db.Session() as session, session.begin():
        session.get(db.Widget, 7).name = "changed meanwhile"
    jobs.perform_enqueued_jobs()
    assert seen == [(7, "changed meanwhile", "new")]


def test_a_deleted_row_is_discarded_with_discard_on(
    db: Schema,  # noqa: F811
    widget_jobs: tuple[type[jobframe.Job], type[jobframe.Job]],
    jobs: JobsHelper,
) -> None:
    rename, strict = widget_jobs
    widget = add(db, db.Widget(id=8, name="doomed"))
    rename.perform_later(widget, "never")
    strict.perform_later(widget)
    with db.Session() as session, session.begin():
        session.delete(session.get(db.Widget, 8))
    with pytest.raises(jobframe.DeserializationError) as failure:
        jobs.perform_enqueued_jobs()
    assert isinstance(failure.value.__cause__, jobframe.RecordNotFound)
    assert len(seen) == 1 and isinstance(seen[0], jobframe.DeserializationError)
    assert len(jobs.performed_jobs) == 2


def test_assert_enqueued_with_matches_a_model_by_its_global_id(
    db: Schema,  # noqa: F811
    widget_jobs: tuple[type[jobframe.Job], type[jobframe.Job]],
    jobs: JobsHelper,
) -> None:
    rename, _ = widget_jobs
    widget = add(db, db.Widget(id=7, name="old"))
    rename.perform_later(widget, "new")
    jobs.assert_enqueued_with(job=rename, args=[widget, "new"])
    jobs.assert_enqueued_with(args=(db.Widget(id=7, name="another copy"), "new"))
    with pytest.raises(AssertionError) as info:
        jobs.assert_enqueued_with(args=[db.Widget(id=8, name="other"), "new"])
    listing = str(info.value)
    assert "(gid://shop/Widget/7, 'new')" in listing
    assert " object at 0x" not in listing


def test_assert_performed_with_and_kwargs_match_by_global_id(
    db: Schema,  # noqa: F811
    widget_jobs: tuple[type[jobframe.Job], type[jobframe.Job]],
    jobs: JobsHelper,
) -> None:
    rename, _ = widget_jobs
    widget = add(db, db.Widget(id=9, name="old"))
    rename.perform_later(widget=widget, name="new")
    jobs.perform_enqueued_jobs()
    jobs.assert_performed_with(job=rename, kwargs={"widget": widget, "name": "new"})


def test_log_lines_show_models_as_their_global_id(
    db: Schema,  # noqa: F811
    widget_jobs: tuple[type[jobframe.Job], type[jobframe.Job]],
    jobs: JobsHelper,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, strict = widget_jobs
    caplog.set_level("INFO", logger="jobframe")
    strict.perform_later({"widgets": [add(db, db.Widget(id=3, name="a"))]})
    jobs.perform_enqueued_jobs()
    lines = [r.getMessage() for r in caplog.records if "with arguments" in r.getMessage()]
    assert len(lines) == 2  # Enqueued, Performing
    shown = "with arguments: {'widgets': [gid://shop/Widget/3]}"
    assert all(line.endswith(shown) for line in lines)
