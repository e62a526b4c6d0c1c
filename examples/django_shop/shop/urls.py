"""The shop's URLs: the order form, Django's admin, and jobframe's dashboard for staff."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("orders/", include("orders.urls")),
    path("admin/", admin.site.urls),
    path("jobs/", include("jobframe.contrib.django.urls")),  # staff only
]
