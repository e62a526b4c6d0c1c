import dramatiq
import harness
from dramatiq.brokers.redis import RedisBroker

dramatiq.set_broker(RedisBroker(url=harness.url(), namespace="bench"))


@dramatiq.actor(queue_name="bench", max_retries=0)
def noop(i):
    harness.hit()


@dramatiq.actor(queue_name="bench", max_retries=0)
def stamp():
    harness.stamp()
