"""The shared Django test setup works: settings configured, the test app's tables made."""

from __future__ import annotations

import pytest


@pytest.mark.usefixtures("django_tables")
def test_the_test_app_round_trips_a_row_through_postgresql() -> None:
    from django_testapp.models import Customer

    made = Customer.objects.create(name="Ann", language="fr")
    assert Customer.objects.get(pk=made.pk).language == "fr"
