"""The tuned taskiq worker: one process running taskiq's `Receiver` itself, on its own event loop,
with ``max_async_tasks=32`` and ``max_prefetch=32`` (the CLI's defaults are 100 and 0, and the CLI
starts its workers as child processes of a manager). Stops on SIGTERM/SIGINT."""

import asyncio
import logging
import signal

import jobs_taskiq_tuned
from taskiq.receiver import Receiver

MAX_ASYNC_TASKS = 32
MAX_PREFETCH = 32


async def main() -> None:
    finish = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, finish.set)
    broker = jobs_taskiq_tuned.broker
    broker.is_worker_process = True
    receiver = Receiver(broker, max_async_tasks=MAX_ASYNC_TASKS, max_prefetch=MAX_PREFETCH)
    try:
        await receiver.listen(finish)
    finally:
        await broker.shutdown()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
