"""The process pool for short CPU-bound work (S18), reached through `ProcessPool`.

forkserver, because forking a process that already runs an event loop and threads is unsafe.
The workers run BACKGROUND_NICENESS steps below the event loop's CPU priority, so a saturated
pool does not slow every other request. At most PROCESS_POOL_MAX_PENDING calls wait for or run
in the pool; one more is answered 503 at once, and a call that takes longer than
PROCESS_POOL_TIMEOUT is answered 503 too.
"""

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, Request

from {{ cookiecutter.project_slug }}.core.errors import ServiceUnavailableError

T = TypeVar("T")


class ProcessPoolRunner:
    """The executor, with a bound on the calls in it and a time limit for each."""

    def __init__(self, executor: ProcessPoolExecutor, max_pending: int, timeout: float) -> None:
        self.executor = executor
        self._slots = asyncio.Semaphore(max_pending)
        self._timeout = timeout

    async def run(self, function: Callable[..., T], *args: object) -> T:
        """Run `function(*args)` in the pool and await its result.

        `function` and its arguments must be picklable: a module-level function of plain values
        that touches no app state. `submit` is called from a thread (S1): the pool starts its
        worker processes inside it, on first use.
        """
        if self._slots.locked():
            raise ServiceUnavailableError("the process pool", retry_after=1)
        async with self._slots:
            future = await anyio.to_thread.run_sync(self.executor.submit, function, *args)
            try:
                async with asyncio.timeout(self._timeout):
                    return await asyncio.wrap_future(future)
            except TimeoutError as exc:
                # A running call cannot be stopped from here; its worker frees when it ends.
                future.cancel()
                raise ServiceUnavailableError(
                    "the process pool", "The computation took too long; try again later."
                ) from exc


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


async def get_process_pool(request: Request) -> ProcessPoolRunner:
    runner: ProcessPoolRunner = request.app.state.process_pool_runner
    return runner


ProcessPool = Annotated[ProcessPoolRunner, Depends(get_process_pool)]
