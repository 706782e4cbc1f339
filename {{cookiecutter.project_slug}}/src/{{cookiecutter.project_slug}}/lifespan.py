"""Process-wide resources: opened once at startup, kept on `app.state`, closed at shutdown.

S2/S11/S12: one asyncpg pool, one httpx client, one Redis client and one process pool per
process, created here (never at import time, never per request) and closed here, in reverse
order, even when startup fails half-way. Migrations are not run here: see the README.
"""

import multiprocessing
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager

import anyio.to_thread
import asyncpg
import httpx
import structlog
from fastapi import FastAPI
from redis.asyncio import Redis

from {{ cookiecutter.project_slug }}.auth.rate_limit import LoginRateLimiter
from {{ cookiecutter.project_slug }}.config import Settings
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.worker import create_celery
{%- endif %}

logger = structlog.get_logger(__name__)

# Raised while the server cannot be reached, is starting or stopping, or has no connection slot
# left; anything else (a wrong password, a missing database) is a configuration error and stops
# the startup.
DB_UNREACHABLE_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.PostgresConnectionError,
    asyncpg.TooManyConnectionsError,
)


async def create_db_pool(settings: Settings) -> asyncpg.Pool:
    """Open the pool with `db_pool_min_size` connections.

    If Postgres cannot be reached at startup the service still starts, with an empty pool: it
    answers 503 (and /health/ready says why) until Postgres is back, then recovers by itself.
    """

    async def open_pool(min_size: int) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            str(settings.database_url),
            min_size=min_size,
            max_size=settings.db_pool_max_size,
            timeout=settings.db_connect_timeout,
            command_timeout=settings.db_command_timeout,
        )

    try:
        return await open_pool(settings.db_pool_min_size)
    except DB_UNREACHABLE_ERRORS as exc:
        logger.error("database_unreachable_at_startup", error=repr(exc))
        return await open_pool(0)


def _create_process_pool(max_workers: int, niceness: int) -> ProcessPoolExecutor:
    # Blocking, so called in a thread (S1): the pool's queues register their semaphores with
    # multiprocessing's resource tracker, which starts the tracker process the first time and
    # writes to its pipe every time.
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=multiprocessing.get_context("forkserver"),
        # Lower CPU priority: when both want a core, the event loop gets it first, and its
        # latency stays flat while the pool is saturated.
        initializer=os.nice,
        initargs=(niceness,),
    )


async def _shutdown_process_pool(executor: ProcessPoolExecutor) -> None:
    # shutdown(wait=True) blocks until the workers exit, so it runs off the event loop (S1).
    await anyio.to_thread.run_sync(executor.shutdown)


def _close_at_exit(
    stack: AsyncExitStack, resource: str, close: Callable[[], Awaitable[object]]
) -> None:
    """Close `resource` when the stack unwinds, and log it: the log shows a complete shutdown."""

    async def close_and_log() -> None:
        await close()
        logger.info("resource_closed", resource=resource)

    stack.push_async_callback(close_and_log)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # S15: the thread pool behind `def` routes and run_in_threadpool, sized on purpose.
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_pool_size

    async with AsyncExitStack() as stack:
        # S3/S18: CPU-bound work goes to other processes. forkserver, because forking a process
        # that already runs an event loop and threads is unsafe.
        app.state.process_pool = await anyio.to_thread.run_sync(
            _create_process_pool, settings.process_pool_size, settings.background_niceness
        )
        _close_at_exit(
            stack, "process_pool", lambda: _shutdown_process_pool(app.state.process_pool)
        )

        app.state.http_client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout, connect=settings.http_connect_timeout),
            limits=httpx.Limits(
                max_connections=settings.http_max_connections,
                max_keepalive_connections=settings.http_max_keepalive_connections,
            ),
        )
        _close_at_exit(stack, "http_client", app.state.http_client.aclose)

        app.state.redis = Redis.from_url(
            str(settings.redis_url),
            socket_connect_timeout=settings.redis_timeout,
            socket_timeout=settings.redis_timeout,
        )
        _close_at_exit(stack, "redis", app.state.redis.aclose)
        app.state.login_limiter = LoginRateLimiter(app.state.redis, settings)

        app.state.pool = await create_db_pool(settings)
        _close_at_exit(stack, "db_pool", app.state.pool.close)
{%- if cookiecutter.include_celery == 'y' %}

        # Only publishes task messages; it connects to the broker on first use. Closing its
        # broker connections is blocking socket I/O, so it runs in a thread (S1).
        app.state.celery = create_celery(settings)
        _close_at_exit(stack, "celery", lambda: anyio.to_thread.run_sync(app.state.celery.close))
{%- endif %}

        logger.info("startup_complete", environment=settings.environment.value)
        yield
        logger.info("shutdown_started")
