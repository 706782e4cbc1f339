"""Process-wide resources: opened once at startup, kept on `app.state`, closed at shutdown.

S12: one asyncpg pool, one httpx client, one Redis client and one process pool per
process. Each resource's own module creates it; this function only composes them, and closes
them in reverse order, even when startup fails half-way. Migrations are not run here: see the
README.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import anyio.to_thread
import structlog
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.auth.rate_limit import RateLimits
from {{ cookiecutter.project_slug }}.auth.security import PasswordHashing
from {{ cookiecutter.project_slug }}.core import database, process_pool
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.core.celery import create_celery
{%- endif %}
from {{ cookiecutter.project_slug }}.core.http_client import create_http_client
from {{ cookiecutter.project_slug }}.core.redis import create_redis
from {{ cookiecutter.project_slug }}.core.settings import Settings

logger = structlog.get_logger(__name__)


def _close_at_exit(
    stack: AsyncExitStack, resource: str, close: Callable[[], Awaitable[object]]
) -> None:
    """Close `resource` when the stack unwinds, and log it: the log shows a complete shutdown."""

    async def close_and_log() -> None:
        await close()
        logger.info("resource_closed", resource=resource)

    stack.push_async_callback(close_and_log)


@asynccontextmanager
async def lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """`create_app` passes this with its settings bound (`functools.partial`)."""
    # S15: the thread pool behind `def` routes and run_in_threadpool, sized on purpose.
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_pool_size

    async with AsyncExitStack() as stack:
        state = app.state
        state.process_pool = await anyio.to_thread.run_sync(
            process_pool.create_process_pool,
            settings.process_pool_size,
            settings.background_niceness,
        )
        _close_at_exit(
            stack, "process_pool", lambda: process_pool.shutdown_process_pool(state.process_pool)
        )
        state.process_pool_runner = process_pool.ProcessPoolRunner(
            state.process_pool,
            max_pending=settings.process_pool_max_pending,
            timeout=settings.process_pool_timeout,
            max_per_caller=settings.process_pool_max_per_caller,
        )

        state.http_client = create_http_client(settings)
        _close_at_exit(stack, "http_client", state.http_client.aclose)

        state.redis = create_redis(settings)
        _close_at_exit(stack, "redis", state.redis.aclose)
        state.rate_limits = RateLimits(state.redis, settings)
        state.password_hashing = PasswordHashing(
            settings.password_hash_concurrency,
            settings.password_hash_wait_seconds,
            memory_kib=settings.password_hash_memory_kib,
            time_cost=settings.password_hash_time_cost,
        )

        state.pool = await database.create_pool_or_wait(settings)
        _close_at_exit(stack, "db_pool", state.pool.close)
{%- if cookiecutter.include_celery == 'y' %}

        # Only publishes task messages; it connects to the broker on first use. Closing its
        # broker connections is blocking socket I/O, so it runs in a thread.
        state.celery = create_celery(settings)
        _close_at_exit(stack, "celery", lambda: anyio.to_thread.run_sync(state.celery.close))
{%- endif %}

        logger.info("startup_complete", environment=settings.environment.value)
        yield
        logger.info("shutdown_started")
