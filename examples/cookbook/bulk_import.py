"""Recipe: import a CSV file as a batch of one job per row, with an email once all are in.

``jobframe.perform_all_later`` serializes every job first (a bad row fails before anything is
written) and hands them to the sql adapter at once: one INSERT of all the rows, in one
transaction. Workers then import the rows in parallel. Delivery is at-least-once, so the import is
an upsert keyed by SKU: a row imported twice (after a crash) is updated, not duplicated.

The enqueue runs inside ``with jobframe.batch(on_success=ImportDoneEmailJob(...))``: the batch is
one row written when the block opens, and its 1,000 members one more multi-row INSERT in the same
transaction as the jobs. The backend counts the rows as they finish and enqueues the email job
once, when the last one succeeded (docs/batches.md). The email goes to a file in the data
folder's ``outbox/``.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert

import jobframe
from cookbook import shop
from cookbook.sandbox import Sandbox, data_folder
from cookbook.shop import Product

ROWS = 1000


class ImportRowJob(jobframe.Job):
    """Create or update the product of one CSV line."""

    queue_as = "imports"

    def perform(self, sku: str, *, name: str, quantity: int) -> None:
        # PostgreSQL's dialect has the same on_conflict_do_update; MySQL's on_duplicate_key_update.
        upsert = insert(Product).values(sku=sku, name=name, quantity=quantity)
        upsert = upsert.on_conflict_do_update(
            index_elements=[Product.sku], set_={"name": name, "quantity": quantity}
        )
        with shop.engine().begin() as connection:
            connection.execute(upsert)


class ImportDoneEmailJob(jobframe.Job):
    """The batch's ``on_success`` callback: "your import is done", written to ``outbox/``."""

    queue_as = "mailers"

    def perform(self, to: str, file_name: str, rows: int) -> None:
        outbox = data_folder() / "outbox"
        outbox.mkdir(exist_ok=True)
        message = f"To: {to}\nSubject: {file_name} imported\n\nAll {rows} rows are in the shop.\n"
        (outbox / f"import-{file_name}.eml").write_text(message)


def write_csv(path: Path, rows: int) -> Path:
    """A stock list with `rows` lines: sku, name, quantity."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["sku", "name", "quantity"])
        for n in range(1, rows + 1):
            writer.writerow([f"SKU-{n:05d}", f"Widget no. {n}", n % 17])
    return path


def read_jobs(path: Path) -> list[ImportRowJob]:
    """One unsent job per CSV line (``Job(...)`` builds a job without enqueueing it)."""
    with path.open(newline="") as source:
        return [
            ImportRowJob(line["sku"], name=line["name"], quantity=int(line["quantity"]))
            for line in csv.DictReader(source)
        ]


def count_inserts(statements: list[str]) -> Any:
    """A SQLAlchemy listener that notes each INSERT statement sent to any engine."""

    def note(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            # executemany: one parameter set per row; else one multi-row VALUES list (or one row)
            rows = len(params) if many else statement.count("), (") + 1
            statements.append(f"{statement.split('(')[0].strip()} ({rows} rows)")

    return note


def run(sandbox: Sandbox) -> None:
    shop.engine()  # the app's tables exist before its workers start
    stock = write_csv(data_folder() / "stock.csv", ROWS)
    jobs = read_jobs(stock)
    print(f"Wrote {stock.name} with {len(jobs)} rows; jobframe.perform_all_later(jobs)")

    statements: list[str] = []
    listener = count_inserts(statements)
    sa.event.listen(sa.Engine, "before_cursor_execute", listener)
    email = ImportDoneEmailJob("buyer@example.com", stock.name, len(jobs))
    started = time.perf_counter()
    try:
        with jobframe.batch(on_success=email, description=f"import {stock.name}") as batch:
            enqueued = jobframe.perform_all_later(jobs)
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", listener)
    elapsed = time.perf_counter() - started
    sent = f"{len(statements)} INSERT statement(s)"
    print(f"Enqueued {enqueued} jobs in batch {batch.id} in {elapsed * 1000:.0f} ms, with {sent}:")
    for statement in statements:
        print(f"  {statement}")

    print("Running `jobframe work cookbook.bulk_import`:", flush=True)
    result = sandbox.work(__name__, timeout=120)

    with shop.new_session() as session:
        products = session.scalar(sa.select(sa.func.count()).select_from(Product)) or 0
    rate = f"{products / result.seconds:.0f} rows/s, worker start-up included"
    print(f"Imported {products} products in {result.seconds:.1f} s ({rate})")
    print(f"Runs: {result.runs}, failed jobs: {result.failed}")
    info = batch.status()
    counts = f"{info.total} jobs, {info.succeeded} succeeded, {info.pending} pending"
    print(f"Batch: {counts}; callbacks fired: {', '.join(info.fired) or 'none'}")
    email_file = data_folder() / "outbox" / f"import-{stock.name}.eml"
    print(f"The on_success email: {email_file.read_text().splitlines()[1]}")
