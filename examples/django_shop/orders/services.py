"""Placing an order: the row and its confirmation job, committed together or not at all."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone, translation

from orders.jobs import SendOrderConfirmationJob
from orders.models import Customer, Order


def place_order(
    customer: Customer, item: str, unit_price: Decimal, quantity: int = 1
) -> tuple[Order, SendOrderConfirmationJob]:
    """Create the order and enqueue its confirmation; returns both (the job is its handle:
    ``job.job_id``, ``job.status()``).

    The job is enqueued only once the transaction commits (``enqueue_after_commit``): a worker
    never gets an order it cannot see yet, and an order rolled back sends no mail. It is enqueued
    under the customer's language and time zone, which jobframe captures with the job and applies
    again in the worker.
    """
    # perform_later captures the active language and time zone (at once, although the job is
    # written to the queue only at commit) and checks and serializes the order.
    with (
        translation.override(customer.language),
        timezone.override(customer.time_zone),
        transaction.atomic(),
    ):
        order = Order.objects.create(
            customer=customer, item=item, quantity=quantity, unit_price=unit_price
        )
        job = SendOrderConfirmationJob.perform_later(order)
    return order, job
