"""``manage.py place_order``: place an order from the command line, as the form does (creating or
updating its customer), and print what a worker will do with it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.models import Customer
from orders.services import place_order


class Command(BaseCommand):
    help = "Place an order for a customer (created if new) and enqueue its confirmation mail."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="Ann Lee")
        parser.add_argument("--language", default="en", help="en or fr")
        parser.add_argument("--time-zone", default="UTC", help="e.g. Europe/Paris")
        parser.add_argument("--item", default="Teapot")
        parser.add_argument("--quantity", type=int, default=1)
        parser.add_argument("--unit-price", type=Decimal, default=Decimal("24.50"))

    def handle(self, *args: Any, **options: Any) -> None:
        customer = Customer.objects.filter(email=options["email"]).first() or Customer(
            email=options["email"]
        )
        customer.name = options["name"]
        customer.language = options["language"]
        customer.time_zone = options["time_zone"]
        try:  # an unknown language or time zone is refused here, not in the worker
            customer.full_clean()
        except ValidationError as error:
            raise CommandError(f"Invalid customer: {error.message_dict}") from error
        customer.save()
        order, job = place_order(
            customer, options["item"], options["unit_price"], options["quantity"]
        )
        self.stdout.write(
            f"Order #{order.pk} placed at {order.created_at.isoformat()} for {customer}; "
            f"confirmation job {job.job_id} enqueued on queue {job.queue_name!r}"
        )
