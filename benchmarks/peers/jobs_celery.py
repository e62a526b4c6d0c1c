import harness
from celery import Celery

app = Celery("jobs_celery", broker=harness.url())
app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True,
                worker_hijack_root_logger=False, task_default_queue="bench")  # fmt: skip


@app.task
def noop(i):
    harness.hit()


@app.task
def stamp():
    harness.stamp()
