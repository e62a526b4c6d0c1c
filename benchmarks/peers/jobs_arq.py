import harness
from arq.connections import RedisSettings


async def noop(ctx, i):
    await harness.ahit()


async def stamp(ctx):
    await harness.astamp()


class WorkerSettings:
    functions = [noop, stamp]
    redis_settings = RedisSettings.from_dsn(harness.url())
    # max_jobs=10, poll_delay=0.5 s: arq's defaults
