"""The process pool for short CPU-bound work (S18), reached through `ProcessPool`.

forkserver, because forking a process that already runs an event loop and threads is unsafe.
The workers run BACKGROUND_NICENESS steps below the event loop's CPU priority, so a saturated
pool does not slow every other request. At most PROCESS_POOL_MAX_PENDING calls wait for or run
in the pool; one more is answered 503 at once, and a call that takes longer than
PROCESS_POOL_TIMEOUT is answered 503 too. One caller may have at most
PROCESS_POOL_MAX_PER_CALLER calls in the pool (429 beyond), so a single user cannot take every
slot from the others; work whose route limits each client itself (the password policy) names no
caller.
"""

import asyncio
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Hashable
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, Request, status

from {{ cookiecutter.project_slug }}.core.errors import AppError, ServiceUnavailableError

T = TypeVar("T")


class TooManyCallsError(AppError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "too_many_concurrent_calls"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You already have {limit} computations running, the most allowed at once; "
            "try again when one has finished.",
            retry_after=1,
        )


class ProcessPoolRunner:
    """The executor, with bounds on the calls in it (in all, and per caller) and a time limit
    for each. The bounds hold per API process."""

    def __init__(
        self, executor: ProcessPoolExecutor, max_pending: int, timeout: float, max_per_caller: int
    ) -> None:
        self.executor = executor
        self._slots = asyncio.Semaphore(max_pending)
        self._timeout = timeout
        self._max_per_caller = max_per_caller
        self._calls_by_caller: Counter[Hashable] = Counter()

    async def run(self, caller: Hashable | None, function: Callable[..., T], *args: object) -> T:
        """Run `function(*args)` in the pool for `caller` (a user id) and await its result.

        `caller` None is for a route whose own rate limits already bound each client: only the
        bound on all calls applies. `function` and its arguments must be picklable: a
        module-level function of plain values that touches no app state. `submit` is called
        from a thread (S1): the pool starts its worker processes inside it, on first use.
        """
        if caller is not None and self._calls_by_caller[caller] >= self._max_per_caller:
            raise TooManyCallsError(self._max_per_caller)
        if self._slots.locked():
            raise ServiceUnavailableError("the process pool", retry_after=1)
        if caller is None:
            return await self._run(function, *args)
        self._calls_by_caller[caller] += 1
        try:
            return await self._run(function, *args)
        finally:
            self._calls_by_caller[caller] -= 1
            if not self._calls_by_caller[caller]:
                del self._calls_by_caller[caller]  # the counter does not grow with every caller

    async def _run(self, function: Callable[..., T], *args: object) -> T:
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
