import harness
from taskiq_redis import ListQueueBroker

broker = ListQueueBroker(url=harness.url(), queue_name="bench")


@broker.task
async def noop(i):
    await harness.ahit()


@broker.task
async def stamp():
    await harness.astamp()
