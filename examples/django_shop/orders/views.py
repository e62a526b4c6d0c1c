"""Place an order from a form; the confirmation mail is sent by a worker, not by the request."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

import jobframe
from orders.forms import OrderForm
from orders.models import Order
from orders.services import place_order


def new_order(request: HttpRequest) -> HttpResponse:
    form = OrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        order, job = place_order(
            data["customer"], data["item"], data["unit_price"], data["quantity"]
        )
        return redirect(f"{reverse('orders:placed', args=[order.pk])}?job={job.job_id}")
    status = 422 if form.errors else 200
    return render(request, "orders/order_form.html", {"form": form}, status=status)


def order_placed(request: HttpRequest, pk: int) -> HttpResponse:
    """The order, and where its confirmation mail is: ``ready`` until a worker has sent it."""
    order = get_object_or_404(Order, pk=pk)
    job_id = request.GET.get("job", "")
    status = jobframe.job_status(job_id) if job_id else "unknown"
    return render(request, "orders/order_placed.html", {"order": order, "mail_status": status})
