"""Waiting for state that offers nothing to await."""

import asyncio
from collections.abc import Awaitable, Callable


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Wait until `check()` is true: for state that offers nothing to await (rows, log records)."""
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 - polling external state on purpose
            await asyncio.sleep(0.02)
