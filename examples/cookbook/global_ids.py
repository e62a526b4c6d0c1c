"""Recipe: pass models to jobs by GlobalID, and know what that means when the row changes.

A `Widget` argument is stored as ``gid://cookbook/Widget/<id>`` and loaded again, fresh, when the
job runs. Three consequences, one job each:

1. the worker sees the row as it is *then*: `UpdateWidgetJob` loads it and changes it;
2. the row may be gone by then: ``discard_on(jobframe.DeserializationError)`` drops such a job
   quietly instead of failing it (nothing to retry: the row will not come back);
3. values that must be reported as they were at enqueue time cannot be read from the row later:
   `NotifyPriceChangeJob` is given the old and new price as arguments.
"""

from __future__ import annotations

import sqlalchemy as sa

import jobframe
from cookbook import shop
from cookbook.sandbox import Sandbox, data_folder
from cookbook.shop import Widget, price
from jobframe.global_id import GlobalID


@jobframe.discard_on(jobframe.DeserializationError)
class UpdateWidgetJob(jobframe.Job):
    """Set a widget's price. A widget deleted before the job runs is a no-op, not a failure."""

    @jobframe.after_discard
    def report_discard(self, exc: BaseException) -> None:
        print(f"  UpdateWidgetJob {self.job_id[:8]} discarded: {exc}", flush=True)

    def perform(self, widget: Widget, *, price_cents: int) -> None:
        before = widget.price_cents  # the row as loaded by the worker, just now
        with shop.new_session() as session, session.begin():
            # The located widget is detached; merge it (no second SELECT) to change the row.
            session.merge(widget, load=False).price_cents = price_cents
        change = f"{price(before)} -> {price(price_cents)}"
        print(f"  UpdateWidgetJob: {widget.name} {change}", flush=True)


class NotifyPriceChangeJob(jobframe.Job):
    """Tell customers about a price change: the prices come from the caller, not from the row."""

    def perform(self, widget: Widget, *, old_price_cents: int, new_price_cents: int) -> None:
        message = f"{widget.name}: {price(old_price_cents)} -> {price(new_price_cents)}"
        outbox = data_folder() / "outbox"
        outbox.mkdir(exist_ok=True)
        (outbox / f"price-change-{widget.id}.txt").write_text(message + "\n")
        print(
            f"  NotifyPriceChangeJob: {message} (as enqueued; the row says "
            f"{price(widget.price_cents)} now)",
            flush=True,
        )


def set_price(widget_id: int, cents: int) -> None:
    """What the app's own code does when someone edits a price."""
    with shop.new_session() as session, session.begin():
        session.get_one(Widget, widget_id).price_cents = cents


def run(sandbox: Sandbox) -> None:
    with shop.new_session() as session, session.begin():
        sprocket = Widget(name="sprocket", price_cents=999)
        gizmo = Widget(name="gizmo", price_cents=2000)
        doohickey = Widget(name="doohickey", price_cents=500)
        session.add_all([sprocket, gizmo, doohickey])

    print("1. UpdateWidgetJob.perform_later(sprocket, price_cents=1250)")
    UpdateWidgetJob.perform_later(sprocket, price_cents=1250)
    print(f"   the widget is stored as {GlobalID.create(sprocket)}")

    print("2. UpdateWidgetJob.perform_later(doohickey, price_cents=450), then the row is deleted")
    UpdateWidgetJob.perform_later(doohickey, price_cents=450)
    with shop.new_session() as session, session.begin():
        session.delete(session.get_one(Widget, doohickey.id))

    print("3. gizmo goes from $20.00 to $18.00: NotifyPriceChangeJob.perform_later(gizmo,")
    print("   old_price_cents=2000, new_price_cents=1800); then, before it runs, to $15.00")
    set_price(gizmo.id, 1800)
    NotifyPriceChangeJob.perform_later(gizmo, old_price_cents=2000, new_price_cents=1800)
    set_price(gizmo.id, 1500)

    print("Running `jobframe work cookbook.global_ids`:", flush=True)
    result = sandbox.work(__name__)

    with shop.new_session() as session:
        rows = session.scalars(sa.select(Widget).order_by(Widget.id)).all()
        print("Widgets now:", ", ".join(f"{w.name} {price(w.price_cents)}" for w in rows))
    print(f"Runs: {result.runs}, failed jobs: {result.failed}")
