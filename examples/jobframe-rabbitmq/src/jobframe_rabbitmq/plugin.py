"""Registers the ``rabbitmq`` adapter through the ``jobframe`` entry-point group (pika is imported
only when the adapter is first used)."""

from __future__ import annotations

from typing import Any

from jobframe.hookspecs import hookimpl


@hookimpl
def register_adapters(register: Any) -> None:
    register("rabbitmq", "jobframe_rabbitmq.adapter:RabbitMQAdapter")
