"""A small Django app for the integration tests (``tests/contrib/django``): models passed by
GlobalID, jobs discovered from its ``jobs`` module."""
