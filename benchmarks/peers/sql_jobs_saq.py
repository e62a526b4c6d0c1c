import sql_harness
from saq import Queue

queue = Queue.from_url(sql_harness.dsn(), name="bench")


async def noop(ctx, *, i):
    await sql_harness.ahit()


async def stamp(ctx):
    await sql_harness.astamp()


settings = {"queue": queue, "functions": [noop, stamp], "concurrency": 10}
