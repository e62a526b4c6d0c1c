"""jobframe's dashboard at /jobs/, for the shop's staff only (Django's login). These tests do not
use the ``jobs`` fixture: the order's job goes to the tests' SQL job store, which the dashboard
reads."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from orders.models import Customer
from orders.services import place_order


@pytest.fixture
def staff() -> Iterator[User]:
    user = User.objects.create_user("ops", password="ops-password-123", is_staff=True)
    yield user
    user.delete()


def test_anonymous_visitors_are_sent_to_the_admin_login() -> None:
    response = Client().get("/jobs/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/jobs/"


def test_customers_are_not_let_in(staff: User) -> None:
    customer = User.objects.create_user("amelie", password="amelie-password-123")
    client = Client()
    client.force_login(customer)
    assert client.get("/jobs/").status_code == 403
    customer.delete()


def test_staff_see_the_confirmation_waiting_for_a_worker(staff: User, bob: Customer) -> None:
    order, job = place_order(bob, "Kettle", Decimal("35.00"))
    client = Client()
    client.force_login(staff)
    assert "mailers" in client.get("/jobs/queues").content.decode()
    detail = client.get(f"/jobs/job/{job.job_id}")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "SendOrderConfirmationJob" in page and f"gid://shop/orders.Order/{order.pk}" in page
