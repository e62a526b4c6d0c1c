from django.urls import path

from orders import views

app_name = "orders"
urlpatterns = [
    path("", views.new_order, name="new"),
    path("<int:pk>/", views.order_placed, name="placed"),
]
