"""The order confirmation email, rendered in the active language and time zone."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils.translation import gettext

from orders.models import Order


def confirmation_email(order: Order, *, message_id: str | None = None) -> EmailMessage:
    """The mail confirming ``order`` to its customer.

    Strings come from the app's catalog (``orders/locale``) for the active language; the order's
    time is shown in the active time zone. Delivery is at-least-once (a worker killed after sending
    runs the job again): callers pass a ``message_id`` that stays the same on a repeat, so mail
    clients can show the two as one message.
    """
    subject = gettext("Your order #%(number)s is confirmed") % {"number": order.pk}
    body = render_to_string("orders/confirmation_email.txt", {"order": order})
    headers = {"Message-ID": message_id} if message_id else {}
    return EmailMessage(
        subject, body, settings.DEFAULT_FROM_EMAIL, [order.customer.email], headers=headers
    )
