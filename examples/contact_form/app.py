"""The contact form: a Starlette app that hands the slow part, sending the email, to a job.

    uvicorn app:app --reload             # see README.md for each environment

GET / shows the form. POST / validates it: bad input comes back with the errors (422) and nothing
is enqueued; good input enqueues `SendContactEmailJob` and redirects to /thanks at once, without
waiting for the mail server. Where the job runs is configuration: JOBFRAME_ENV picks an
environment of pyproject.toml's [tool.jobframe] table.
"""

from __future__ import annotations

import logging

from forms import ContactForm
from jobs import SendContactEmailJob
from pages import form_page, thanks_page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
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
        await SendContactEmailJob.aperform_later(form.name, form.email, form.message)
    except jobframe.EnqueueError:
        # The queue is unreachable. Say so and keep what the visitor typed; never drop it silently.
        log.exception("could not enqueue the contact email")
        return HTMLResponse(form_page(form, notice=UNAVAILABLE), status_code=503)
    # Post/Redirect/Get: reloading the thank-you page does not send the message twice.
    return RedirectResponse("/thanks", status_code=303)


async def thanks(request: Request) -> Response:
    return HTMLResponse(thanks_page())


app = Starlette(
    routes=[Route("/", contact, methods=["GET", "POST"]), Route("/thanks", thanks)],
)
