"""GlobalID for Django models (`jobframe.contrib.django.global_id`) on PostgreSQL: located again
by a real worker, signed ids, a deleted row discarded, many models in one query per class."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from contrib.django.workers import redis_queue, running
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_testapp.models import Customer, Order

import jobframe
from jobframe import arguments
from jobframe.contrib.django.global_id import DjangoLocator
from jobframe.global_id import GlobalID, SignedGlobalID, locate, locate_signed
from jobframe.testing import JobsHelper
from jobframe.testing.workers import wait_until

pytestmark = pytest.mark.usefixtures("django_tables")

seen: list[Any] = []
lock = threading.Lock()


def record(item: Any) -> None:
    with lock:
        seen.append(item)


@pytest.fixture(autouse=True)
def _clear_seen() -> Iterator[None]:
    seen.clear()
    yield
    seen.clear()


@jobframe.discard_on(jobframe.DeserializationError)
class ThankCustomerJob(jobframe.Job):
    @jobframe.after_discard
    def discarded(self, exc: BaseException) -> None:
        record(("discarded", exc, exc.__cause__))

    def perform(self, customer: Customer, orders: list[Order]) -> None:
        record(("performed", customer.pk, customer.name, [order.pk for order in orders]))


def test_a_model_round_trips_through_a_real_worker() -> None:
    ann = Customer.objects.create(name="Ann", language="fr")
    orders = [Order.objects.create(customer=ann, total_cents=100 * i) for i in range(3)]
    with redis_queue("djgid") as adapter:
        job = ThankCustomerJob.perform_later(ann, orders)
        assert job.serialize()["arguments"][0] == {
            "_jf": "gid",
            "value": f"gid://jobframe/django_testapp.Customer/{ann.pk}",
        }
        Customer.objects.filter(pk=ann.pk).update(name="Ann (renamed meanwhile)")

        with running(adapter):
            wait_until(lambda: seen, 10, f"the worker to perform {job.job_id}")

    assert seen == [("performed", ann.pk, "Ann (renamed meanwhile)", [o.pk for o in orders])]


def test_a_deleted_row_is_discarded_by_a_real_worker() -> None:
    bob = Customer.objects.create(name="Bob")
    with redis_queue("djgid") as adapter:
        ThankCustomerJob.perform_later(bob, [])
        bob.delete()

        with running(adapter):
            wait_until(lambda: seen, 10, "the worker to discard the job")

    [(what, exc, cause)] = seen
    assert what == "discarded" and isinstance(exc, jobframe.DeserializationError)
    assert isinstance(cause, jobframe.RecordNotFound)
    assert "there is no django_testapp.Customer with id" in str(cause)


def test_many_models_are_located_with_one_query_per_class(jobs: JobsHelper) -> None:
    ann = Customer.objects.create(name="Ann")
    cid = Customer.objects.create(name="Cid")
    orders = Order.objects.bulk_create(Order(customer=ann, total_cents=i) for i in range(100))
    ThankCustomerJob.perform_later(ann, [*orders, Order(pk=orders[0].pk)])  # a duplicate too
    encoded = arguments.serialize([[ann, cid, ann]], {"orders": orders})

    with CaptureQueriesContext(connection) as performing:
        jobs.perform_enqueued_jobs()
    with CaptureQueriesContext(connection) as decoding:
        args, kwargs = arguments.deserialize(*encoded)

    assert len(performing.captured_queries) == 2, "one for the customer, one for 100 orders"
    assert seen[0][3] == [o.pk for o in orders] + [orders[0].pk]
    assert len(decoding.captured_queries) == 2, [q["sql"] for q in decoding.captured_queries]
    assert [c.name for c in args[0]] == ["Ann", "Cid", "Ann"]
    assert [o.total_cents for o in kwargs["orders"]] == list(range(100))
    assert " IN (" in decoding.captured_queries[1]["sql"]

    orders[41].delete()  # gone from the bulk answer: located alone, which says why
    with pytest.raises(jobframe.DeserializationError, match=r"kwargs\['orders'\]\[41\]") as gone:
        arguments.deserialize(*encoded)
    assert isinstance(gone.value.__cause__, jobframe.RecordNotFound)


def test_signed_global_ids_use_djangos_secret_key() -> None:
    ann = Customer.objects.create(name="Ann")
    token = SignedGlobalID.create(ann, purpose="unsubscribe")

    assert locate_signed(token, purpose="unsubscribe") == ann
    assert locate_signed(token, purpose="login") is None
    assert locate_signed(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    with override_settings(SECRET_KEY="another-secret-key-of-the-same-app-0123456789"):
        assert locate_signed(token, purpose="unsubscribe") is None, "signed with the old key"


class Reads:
    """A database router that records the models it is asked to read."""

    def __init__(self) -> None:
        self.models: list[str] = []

    def db_for_read(self, model: Any, **hints: Any) -> str:
        self.models.append(model._meta.label)
        return "default"


def test_models_are_read_through_the_default_manager_and_the_routers() -> None:
    ann = Customer.objects.create(name="Ann")
    orders = [Order.objects.create(customer=ann) for _ in range(2)]
    router = Reads()
    with override_settings(DATABASE_ROUTERS=[router]):
        located = arguments.deserialize(*arguments.serialize([ann, orders], {}))[0]
    assert located == [ann, orders]
    assert set(router.models) == {"django_testapp.Order", "django_testapp.Customer"}


def test_gids_name_installed_models_only_and_the_app_setting() -> None:
    ann = Customer.objects.create(name="Ann")
    with override_settings(JOBFRAME={"adapter": "test", "global_id_app": "shop"}):
        gid = GlobalID.create(ann)
        assert str(gid) == f"gid://shop/django_testapp.Customer/{ann.pk}"
        assert locate(gid) == ann
    for name in ("django_testapp.customer", "django_testapp.Nope", "Customer", "auth"):
        with pytest.raises(jobframe.DeserializationError, match="no locator"):
            locate(f"gid://jobframe/{name}/{ann.pk}")
    with pytest.raises(jobframe.DeserializationError, match="not a valid primary key"):
        locate("gid://jobframe/django_testapp.Customer/abc")
    with pytest.raises(jobframe.SerializationError, match="no primary key yet: save"):
        ThankCustomerJob.perform_later(Customer(name="unsaved"), [])

    only_auth = DjangoLocator(app_labels=["auth"])
    assert only_auth.global_id_parts(ann) is None
    assert not only_auth.can_locate("django_testapp.Customer")
    assert only_auth.can_locate("auth.User")
