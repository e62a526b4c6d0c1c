"""Models of the test app. Tables are made by the ``django_tables`` fixture (schema editor), not
by migrations, so each test database starts empty."""

from __future__ import annotations

from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=200, default="")
    language = models.CharField(max_length=10, default="en")

    class Meta:
        app_label = "django_testapp"


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    total_cents = models.IntegerField(default=0)

    class Meta:
        app_label = "django_testapp"
