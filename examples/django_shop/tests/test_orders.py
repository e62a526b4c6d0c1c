"""Placing an order enqueues its confirmation once the transaction commits, and the job mails it
in the customer's language and time zone. Jobs go to the `jobs` fixture's test adapter."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from orders.jobs import SendOrderConfirmationJob
from orders.models import Customer, Order
from orders.services import place_order

from jobframe.testing import JobsHelper

# 08:30 UTC on Bastille Day: 10:30 in Paris (summer time), 04:30 in New York.
ORDERED_AT = datetime(2026, 7, 14, 8, 30, tzinfo=UTC)


def order_placed_at(customer: Customer, moment: datetime = ORDERED_AT) -> Order:
    order, _ = place_order(customer, "Teapot", Decimal("19.95"), quantity=2)
    Order.objects.filter(pk=order.pk).update(created_at=moment)  # a known time to render
    return order


def test_the_confirmation_is_enqueued_when_the_transaction_commits(
    jobs: JobsHelper, amelie: Customer
) -> None:
    with transaction.atomic():  # e.g. the request's, with ATOMIC_REQUESTS
        order, job = place_order(amelie, "Teapot", Decimal("19.95"))
        jobs.assert_no_enqueued_jobs()  # a worker could not see the order yet
    record = jobs.assert_enqueued_with(job=SendOrderConfirmationJob, args=[order], queue="mailers")
    assert record.job_id == job.job_id
    assert record.payload["arguments"][0]["value"] == f"gid://shop/orders.Order/{order.pk}"
    assert (record.payload["locale"], record.payload["timezone"]) == ("fr", "Europe/Paris")


def test_a_rolled_back_order_enqueues_nothing(jobs: JobsHelper, amelie: Customer) -> None:
    with pytest.raises(RuntimeError, match="card declined"), transaction.atomic():
        place_order(amelie, "Teapot", Decimal("19.95"))
        raise RuntimeError("card declined")
    assert not Order.objects.exists()
    jobs.assert_no_enqueued_jobs()


def test_a_french_customer_gets_a_french_mail_with_the_time_in_paris(
    jobs: JobsHelper, amelie: Customer
) -> None:
    order = order_placed_at(amelie)
    assert jobs.perform_enqueued_jobs() == 1  # performed here, under no language of ours
    [sent] = mail.outbox
    assert sent.to == ["amelie@example.com"]
    assert sent.subject == f"Votre commande n° {order.pk} est confirmée"
    assert sent.body.startswith("Bonjour Amélie Dupont,\n")
    assert f"Merci pour votre commande n° {order.pk}." in sent.body
    assert "Article : 2 x Teapot\nTotal : 39,90 EUR\n" in sent.body
    assert "Commandé le : 14 juillet 2026 10:30 (Europe/Paris)" in sent.body
    assert sent.extra_headers["Message-ID"] == f"<{jobs.performed_jobs[0].job_id}@shop.example.com>"


def test_an_english_customer_gets_an_english_mail_in_their_time_zone(
    jobs: JobsHelper, bob: Customer
) -> None:
    order = order_placed_at(bob)
    jobs.perform_enqueued_jobs()
    [sent] = mail.outbox
    assert sent.subject == f"Your order #{order.pk} is confirmed"
    assert "Total: 39.90 EUR" in sent.body
    assert "Ordered on: July 14, 2026, 4:30 a.m. (America/New_York)" in sent.body


def test_an_order_deleted_before_the_job_ran_is_discarded(
    jobs: JobsHelper, amelie: Customer
) -> None:
    order = order_placed_at(amelie)
    order.delete()
    jobs.perform_enqueued_jobs()
    assert mail.outbox == []
    jobs.assert_no_enqueued_jobs()  # discarded, not retried


def test_the_order_form_places_the_order_and_enqueues_its_confirmation(
    jobs: JobsHelper, amelie: Customer
) -> None:
    data = {"customer": amelie.pk, "item": "Kettle", "quantity": 1, "unit_price": "35.00"}
    response = Client().post("/orders/", data)
    order = Order.objects.get()
    record = jobs.assert_enqueued_with(job=SendOrderConfirmationJob, args=[order])
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/?job={record.job_id}"
    assert mail.outbox == [], "the request does not wait for the mail"


def test_the_mail_speaks_the_customers_language_not_the_staff_members(
    jobs: JobsHelper, bob: Customer
) -> None:
    """A French-speaking clerk (LocaleMiddleware activates fr for the request) places an order
    for an English customer: the mail is in English, in New York time."""
    clerk = Client(headers={"accept-language": "fr"})
    assert "<h1>Nouvelle commande</h1>" in clerk.get("/orders/").content.decode()
    data = {"customer": bob.pk, "item": "Kettle", "quantity": 1, "unit_price": "35.00"}
    clerk.post("/orders/", data)
    [record] = jobs.enqueued_jobs
    assert (record.payload["locale"], record.payload["timezone"]) == ("en", "America/New_York")
    jobs.perform_enqueued_jobs()
    [sent] = mail.outbox
    assert sent.subject.startswith("Your order #") and "Bonjour" not in sent.body


def test_an_invalid_order_form_enqueues_nothing(jobs: JobsHelper, amelie: Customer) -> None:
    response = Client().post("/orders/", {"customer": amelie.pk, "item": "", "quantity": 0})
    assert response.status_code == 422
    assert not Order.objects.exists()
    jobs.assert_no_enqueued_jobs()


def test_the_order_page_shows_whether_the_confirmation_is_sent(
    jobs: JobsHelper, bob: Customer
) -> None:
    order, job = place_order(bob, "Kettle", Decimal("35.00"))
    page = Client().get(f"/orders/{order.pk}/?job={job.job_id}").content.decode()
    assert 'data-mail-status="ready"' in page and "on its way" in page
    jobs.perform_enqueued_jobs()
    page = Client().get(f"/orders/{order.pk}/?job={job.job_id}").content.decode()
    assert 'data-mail-status="succeeded"' in page and "The confirmation mail is sent." in page
    assert Client().get(f"/orders/{order.pk}/?job=not-a-job-id").status_code == 200
    assert Client().get(f"/orders/{order.pk + 1}/").status_code == 404
