from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "django_testapp"
    default_auto_field = "django.db.models.BigAutoField"
