"""The shop's background jobs. jobframe's Django app imports this module (``<app>.jobs``) in every
process, so ``manage.py jobframe work`` knows these classes without being told."""

from __future__ import annotations

import smtplib

import jobframe
from orders.mail import confirmation_email
from orders.models import Order

# The mail server is down, refuses or hangs up: worth trying again later. Anything else (a
# rejected address, a bug) fails the job and leaves it on the dead set, where it can be retried.
MAIL_SERVER_UNAVAILABLE = (ConnectionError, TimeoutError, smtplib.SMTPServerDisconnected)


class ApplicationJob(jobframe.Job):
    """The base class of this project's jobs, as in Rails."""

    abstract = True


# An order deleted before its confirmation went out has nothing left to confirm.
@jobframe.discard_on(jobframe.DeserializationError)
@jobframe.retry_on(*MAIL_SERVER_UNAVAILABLE, wait=jobframe.polynomially_longer, attempts=10)
class SendOrderConfirmationJob(ApplicationJob):
    """Email the customer that their order is confirmed, in their language and time zone.

    The order comes as a GlobalID (``gid://shop/orders.Order/42``) and is loaded fresh from the
    database here. The language and time zone are not arguments: they were captured when the job
    was enqueued (under the customer's ``translation.override`` and ``timezone.override``, see
    ``orders.services.place_order``) and jobframe applies them again around ``perform``.
    """

    queue_as = "mailers"

    def perform(self, order: Order) -> None:
        confirmation_email(order, message_id=f"<{self.job_id}@shop.example.com>").send()
