"""Recipe: a long import as a continuation, resumed where it stopped after a deploy.

``LongImportJob`` has two steps: ``download`` (fetch the file once) and ``rows`` (import it 100
rows at a time, each batch a checkpoint: ``step.advance(to=next_row)``). The recipe starts a
worker, waits until part of the file is imported, and stops the worker with SIGTERM, as a deploy
does. The job stops at its next checkpoint and is re-enqueued at once with its finished steps and
cursor; a new worker resumes it at that row: the download is not repeated and no row is imported
twice.
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import time
from pathlib import Path

import jobframe
from cookbook.sandbox import Sandbox, data_folder

ROWS = 5000
BATCH = 100


def imports_db() -> sqlite3.Connection:
    """The app's own database (the import's target), in the data folder."""
    db = sqlite3.connect(data_folder() / "imports.sqlite3", timeout=30)
    db.execute("CREATE TABLE IF NOT EXISTS stock (row INTEGER, sku TEXT, pid INTEGER)")
    db.execute("CREATE TABLE IF NOT EXISTS runs (step TEXT, cursor INTEGER, pid INTEGER)")
    return db


class LongImportJob(jobframe.Job):
    """Download a stock file, then import its rows in batches: a continuation."""

    queue_as = "imports"

    def perform(self, url: str) -> None:
        self.source = data_folder() / "stock.csv"
        self.step("download", self.download)
        self.step("rows", self.import_rows, cursor=0)

    def download(self, step: jobframe.Step) -> None:
        with imports_db() as db:
            db.execute("INSERT INTO runs VALUES ('download', NULL, ?)", (os.getpid(),))
        with self.source.open("w", newline="") as out:  # stands in for a slow HTTP download
            writer = csv.writer(out)
            writer.writerows([f"SKU-{n:05d}", n % 17] for n in range(ROWS))

    def import_rows(self, step: jobframe.Step) -> None:
        with imports_db() as db:
            db.execute("INSERT INTO runs VALUES ('rows', ?, ?)", (step.cursor, os.getpid()))
        with self.source.open(newline="") as source:
            lines = list(csv.reader(source))
        for start in range(step.cursor, len(lines), BATCH):
            batch = lines[start : start + BATCH]
            with imports_db() as db:  # one transaction per batch, then the checkpoint
                db.executemany(
                    "INSERT INTO stock VALUES (?, ?, ?)",
                    [(start + i, sku, os.getpid()) for i, (sku, _) in enumerate(batch)],
                )
            time.sleep(0.02)  # stands in for the work each batch takes
            step.advance(to=start + len(batch))  # resume after this batch


def imported() -> int:
    with imports_db() as db:
        return int(db.execute("SELECT count(*) FROM stock").fetchone()[0])


def run(sandbox: Sandbox) -> None:
    imports_db().close()
    job = LongImportJob.perform_later("https://example.com/stock.csv")
    print(f"Enqueued LongImportJob {job.job_id}")

    print("Running `jobframe work cookbook.long_import`, stopped mid-import:", flush=True)
    worker = sandbox._jobframe("work", __name__, "--log-level", "WARNING")
    try:
        deadline = time.monotonic() + 60
        while imported() < ROWS // 4:  # polling the app's table, as a dashboard would
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the import did not get going")
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)  # a deploy
        code = worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    print(f"SIGTERM after {imported()} of {ROWS} rows: the worker exited with code {code}")
    waiting = sandbox.inspector.jobs("ready", queue="imports")
    print(f"Waiting in the imports queue: {len(waiting)} job, same id: "
          f"{[info.job_id for info in waiting] == [job.job_id]}")  # fmt: skip

    print("Running a new worker until the queue is empty:", flush=True)
    result = sandbox.work(__name__, timeout=120)
    with imports_db() as db:
        runs = db.execute("SELECT step, cursor FROM runs").fetchall()
        rows = db.execute("SELECT count(DISTINCT row), count(*) FROM stock").fetchone()
    print(f"Steps run: {', '.join(s if c is None else f'{s} from row {c}' for s, c in runs)}")
    print(f"Imported {rows[0]} distinct rows, {rows[1] - rows[0]} twice; failed jobs: "
          f"{result.failed}")  # fmt: skip
    Path(data_folder() / "stock.csv").unlink()
