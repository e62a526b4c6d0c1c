from __future__ import annotations

from django import forms

from orders.models import Order


class OrderForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Order
        fields = ["customer", "item", "quantity", "unit_price"]
