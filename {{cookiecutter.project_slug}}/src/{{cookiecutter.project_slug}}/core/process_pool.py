"""The process pool for short CPU-bound work (S18), reached through `ProcessPool`.

forkserver, because forking a process that already runs an event loop and threads is unsafe.
The workers run BACKGROUND_NICENESS steps below the event loop's CPU priority, so a saturated
pool does not slow every other request.
"""

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, Request

T = TypeVar("T")


def create_process_pool(max_workers: int, niceness: int) -> ProcessPoolExecutor:
    # Blocking (the pool registers its semaphores with multiprocessing's resource tracker), so
    # the lifespan calls this in a thread.
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=os.nice,
        initargs=(niceness,),
    )


async def shutdown_process_pool(executor: ProcessPoolExecutor) -> None:
    # shutdown(wait=True) blocks until the workers exit, so it runs off the event loop.
    await anyio.to_thread.run_sync(executor.shutdown)


async def run_in_process(
    executor: ProcessPoolExecutor, function: Callable[..., T], *args: object
) -> T:
    """Run `function(*args)` in the pool and await its result.

    `submit` is called from a thread (S1): the pool starts its worker processes inside it, on
    first use. `function` and its arguments must be picklable: a module-level function of plain
    values that touches no app state.
    """
    future = await anyio.to_thread.run_sync(executor.submit, function, *args)
    return await asyncio.wrap_future(future)


async def get_process_pool(request: Request) -> ProcessPoolExecutor:
    executor: ProcessPoolExecutor = request.app.state.process_pool
    return executor


ProcessPool = Annotated[ProcessPoolExecutor, Depends(get_process_pool)]
