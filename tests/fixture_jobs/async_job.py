from __future__ import annotations

import asyncio

import jobframe
from fixture_jobs import buffer


class AsyncJob(jobframe.Job):
    async def perform(self, value: int) -> int:
        await asyncio.sleep(0)
        buffer.append(f"async {value}")
        return value * 2
