import harness
from huey import RedisHuey

huey = RedisHuey("bench", url=harness.url())


@huey.task()
def noop(i):
    harness.hit()


@huey.task()
def stamp():
    harness.stamp()
