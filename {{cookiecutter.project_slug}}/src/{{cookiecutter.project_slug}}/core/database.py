"""PostgreSQL: the asyncpg pool, the errors it raises, and lending a connection (S11).

Everything about the pool lives here. `lifespan` opens it with `create_pool` and keeps it on
`app.state.pool`; routes and dependencies take a connection with `Conn` (or the pool itself with
`Pool`, when they need several connections at once). A database that cannot be reached, or a
connection lost under a route, is answered 503 in the common error shape.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, TypeAlias

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy
from fastapi import Depends, Request

from {{ cookiecutter.project_slug }}.core.errors import ServiceUnavailableError
from {{ cookiecutter.project_slug }}.core.settings import Settings, SettingsDep

# What routes and services receive: a pooled connection (asyncpg hands out a proxy). The proxy is
# generic only in the type stubs, hence the two spellings.
if TYPE_CHECKING:
    Connection: TypeAlias = PoolConnectionProxy[asyncpg.Record]
else:
    Connection = PoolConnectionProxy

# The server cannot be reached, is starting or stopping, or has no connection slot left. Anything
# else at connect time (a wrong password, a missing database) is a configuration error.
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.PostgresConnectionError,
    asyncpg.TooManyConnectionsError,
)
# Raised while a connection is in use: the server went away, the network dropped the connection,
# no answer within DB_COMMAND_TIMEOUT; or a reason of the caller's own. The connection's state
# afterwards tells the two apart.
CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)

logger = structlog.get_logger(__name__)


async def create_pool(
    settings: Settings, *, min_size: int | None = None, max_size: int | None = None
) -> asyncpg.Pool:
    """Open a pool; the sizes default to DB_POOL_MIN_SIZE and DB_POOL_MAX_SIZE."""
    return await asyncpg.create_pool(
        str(settings.database_url),
        min_size=settings.db_pool_min_size if min_size is None else min_size,
        max_size=settings.db_pool_max_size if max_size is None else max_size,
        timeout=settings.db_connect_timeout,
        command_timeout=settings.db_command_timeout,
    )


async def create_pool_or_wait(settings: Settings) -> asyncpg.Pool:
    """The API's pool. If PostgreSQL cannot be reached at startup the service starts anyway,
    with an empty pool: it answers 503 (and /health/ready says why) until the database is back,
    then recovers by itself."""
    try:
        return await create_pool(settings)
    except UNREACHABLE as exc:
        logger.error("database_unreachable_at_startup", error=repr(exc))
        return await create_pool(settings, min_size=0)


@asynccontextmanager
async def lend(pool: asyncpg.Pool, acquire_timeout: float) -> AsyncIterator[Connection]:
    """`pool.acquire()` for request handlers: a database failure becomes a 503, nothing else does.

    Not getting a connection within `acquire_timeout`, or losing it while using it, raises
    ServiceUnavailableError. Any other error, the caller's own included, passes through
    untouched. Giving the connection back (asyncpg resets it) has the same time limit.
    """
    try:
        # asyncio.timeout bounds the wait in this task; acquire(timeout=...) would start
        # another task for it on Python 3.11.
        async with asyncio.timeout(acquire_timeout):
            conn = await pool.acquire()
    except UNREACHABLE as exc:
        raise ServiceUnavailableError("database") from exc
    try:
        yield conn
    except CONNECTION_LOST as exc:
        # Release first: a connection that stopped answering is found out (and dropped) there.
        if _is_closed(conn) or not await _release(pool, conn, acquire_timeout):
            raise ServiceUnavailableError("database") from exc
        raise
    finally:
        await _release(pool, conn, acquire_timeout)  # a no-op if already released


def _is_closed(conn: Connection) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:  # asyncpg took it back already: it closed under the caller
        return True


async def _release(pool: asyncpg.Pool, conn: Connection, reset_timeout: float) -> bool:
    """Give the connection back; False if it was broken (asyncpg then closes it, freeing the slot)."""
    try:
        # The timeout bounds asyncpg's reset of the connection: one that stopped answering
        # raises TimeoutError here instead of holding the request.
        await pool.release(conn, timeout=reset_timeout)
    except (*CONNECTION_LOST, asyncpg.PostgresError) as exc:
        logger.warning("database_connection_dropped", error=repr(exc))
        return False
    return True


# S4: the resource aliases are `async def`: they do no blocking work, and a plain `def` would be
# sent to the thread pool for nothing.
async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


Pool = Annotated[asyncpg.Pool, Depends(get_pool)]


async def get_conn(pool: Pool, settings: SettingsDep) -> AsyncIterator[Connection]:
    """Lend one pooled connection to a request and take it back afterwards (see `lend`)."""
    async with lend(pool, settings.db_acquire_timeout) as conn:
        yield conn


# scope="function": the connection goes back to the pool as soon as the route returns, before
# the response is sent and before background tasks run, so slow clients never hold one.
Conn = Annotated[Connection, Depends(get_conn, scope="function")]
