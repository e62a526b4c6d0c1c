import harness
from saq import Queue

queue = Queue.from_url(harness.url(), name="bench")


async def noop(ctx, *, i):
    await harness.ahit()


async def stamp(ctx):
    await harness.astamp()


settings = {"queue": queue, "functions": [noop, stamp], "concurrency": 10}
