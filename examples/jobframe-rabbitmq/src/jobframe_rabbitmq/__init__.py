"""jobframe-rabbitmq: a RabbitMQ queue adapter and worker backend for jobframe."""

from __future__ import annotations

from typing import Any

__all__ = ["RabbitMQAdapter", "RabbitMQInspector", "RabbitMQWorkerBackend"]


def __getattr__(name: str) -> Any:
    # jobframe imports the plugin module at startup: importing the package must not import pika.
    if name == "RabbitMQAdapter":
        from jobframe_rabbitmq.adapter import RabbitMQAdapter

        return RabbitMQAdapter
    if name == "RabbitMQInspector":
        from jobframe_rabbitmq.inspector import RabbitMQInspector

        return RabbitMQInspector
    if name == "RabbitMQWorkerBackend":
        from jobframe_rabbitmq.worker_backend import RabbitMQWorkerBackend

        return RabbitMQWorkerBackend
    raise AttributeError(name)
