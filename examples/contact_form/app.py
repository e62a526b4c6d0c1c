"""The contact form: a Starlette app that hands the slow part, sending the email, to a job.

    uvicorn app:app --reload             # see README.md for each environment

GET / shows the form. POST / validates it: bad input comes back with the errors (422) and nothing
is enqueued; good input enqueues `SendContactEmailJob` and redirects to /thanks?job=JOB_ID at
once, without waiting for the mail server. The thank-you page polls the job's status
(`jobframe.job_status`, from any process: docs/results.md) until the mail is sent;
GET /status/JOB_ID answers the same as JSON for a script. Where the job runs is configuration:
JOBFRAME_ENV picks an environment of pyproject.toml's [tool.jobframe] table.
"""

from __future__ import annotations

import logging
import uuid

from forms import ContactForm
from jobs import SendContactEmailJob
from pages import form_page, thanks_page
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

import jobframe

log = logging.getLogger(__name__)

UNAVAILABLE = "Sorry, we could not take your message just now. Please try again in a minute."


async def contact(request: Request) -> Response:
    if request.method == "GET":
        return HTMLResponse(form_page(ContactForm()))
    form = ContactForm.from_data(await request.form())
    if errors := form.errors():
        return HTMLResponse(form_page(form, errors), status_code=422)
    try:
        # A round trip to Redis or the database: aperform_later keeps it off the event loop.
        job = await SendContactEmailJob.aperform_later(form.name, form.email, form.message)
    except jobframe.EnqueueError:
        # The queue is unreachable. Say so and keep what the visitor typed; never drop it silently.
        log.exception("could not enqueue the contact email")
        return HTMLResponse(form_page(form, notice=UNAVAILABLE), status_code=503)
    # Post/Redirect/Get: reloading the thank-you page does not send the message twice.
    return RedirectResponse(f"/thanks?job={job.job_id}", status_code=303)


async def status_of(job_id: str) -> str | None:
    """The job's status ("ready", "running", "retrying", "succeeded", ...), or None when the id
    is not a job id or the backend keeps no status. A round trip: off the event loop."""
    try:
        uuid.UUID(job_id)
    except ValueError:
        return None  # not one of ours: never sent to the backend
    try:
        return await run_in_threadpool(jobframe.job_status, job_id)
    except jobframe.JobframeError:  # the adapter keeps no status (UnsupportedError)
        return None


async def thanks(request: Request) -> Response:
    return HTMLResponse(thanks_page(await status_of(request.query_params.get("job", ""))))


async def status(request: Request) -> Response:
    """``GET /status/JOB_ID``: ``{"status": "succeeded"}``; 404 for an id that is not a job's."""
    found = await status_of(request.path_params["job_id"])
    if found is None:
        return JSONResponse({"error": "no such job"}, status_code=404)
    return JSONResponse({"status": found})


app = Starlette(
    routes=[
        Route("/", contact, methods=["GET", "POST"]),
        Route("/thanks", thanks),
        Route("/status/{job_id}", status),
    ],
)
