"""Where jobframe keeps things in RabbitMQ: every queue and exchange name, under one prefix.

Job queues get a ``queue.`` segment so that no queue name a job chooses can collide with the
infrastructure (the dead-letter queue, the catalogue, the delay levels).
"""

from __future__ import annotations

from dataclasses import dataclass

from jobframe.errors import ConfigurationError, InvalidOptionError

#: AMQP 0-9-1 limits queue and exchange names to 255 bytes
MAX_NAME_BYTES = 255


@dataclass(frozen=True)
class Names:
    """The names of one jobframe namespace on a broker (``prefix`` is the ``prefix`` option)."""

    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix or len(self.prefix.encode()) > 100:
            raise ConfigurationError(
                f"rabbitmq adapter_options.prefix must be 1 to 100 bytes long, got {self.prefix!r}"
            )

    def queue(self, name: str) -> str:
        """The RabbitMQ queue holding the ready jobs of jobframe queue ``name``."""
        amqp_name = f"{self.prefix}.queue.{name}"
        if len(amqp_name.encode()) > MAX_NAME_BYTES:
            raise InvalidOptionError(
                f"queue name {name!r} is too long for RabbitMQ ({MAX_NAME_BYTES} bytes with the "
                f"prefix {self.prefix!r})."
            )
        return amqp_name

    @property
    def dead(self) -> str:
        """Failed jobs and payloads no worker could read, with the reason in their headers."""
        return f"{self.prefix}.dead"

    @property
    def catalogue(self) -> str:
        """The names of the job queues, so that ``--queues '*'`` can find them."""
        return f"{self.prefix}.catalogue"

    @property
    def deliver(self) -> str:
        """The headers exchange routing a job (new or due) to its queue by ``jobframe-queue``."""
        return f"{self.prefix}.deliver"

    def delay(self, level: int) -> str:
        """The exchange and the queue (same name) of delay level ``level``: 2**level ms."""
        return f"{self.prefix}.delay.{level:02d}"
