"""taskiq at its best configuration here (issue 18): taskiq-redis's RedisStreamBroker (XREADGROUP,
acknowledged with XACK once the task ran), read by `taskiq_receiver.py`."""

import harness
from taskiq_redis import RedisStreamBroker

# consumer_id "0": the consumer group the worker creates starts at the stream's beginning, so it
# reads the jobs enqueued before it started (the processing run enqueues first); with the
# default "$" it would read only jobs enqueued after.
broker = RedisStreamBroker(url=harness.url(), queue_name="bench-stream", consumer_id="0")


@broker.task
async def noop(i):
    await harness.ahit()


@broker.task
async def stamp():
    await harness.astamp()
