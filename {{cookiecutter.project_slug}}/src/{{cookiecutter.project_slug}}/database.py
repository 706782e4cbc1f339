"""Connections for request handlers (S11), and what a failing database looks like to a client."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, TypeAlias

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy
from fastapi import Depends, Request

from {{ cookiecutter.project_slug }}.errors import ServiceUnavailableError
from {{ cookiecutter.project_slug }}.lifespan import DB_UNREACHABLE_ERRORS

# What routes and services receive: a pooled connection (asyncpg hands out a proxy). The proxy is
# generic only in the type stubs, hence the two spellings.
if TYPE_CHECKING:
    Connection: TypeAlias = PoolConnectionProxy[asyncpg.Record]
else:
    Connection = PoolConnectionProxy

# Raised while a connection is in use, either because the connection died under the route (the
# server went away, the network dropped it, no answer within DB_COMMAND_TIMEOUT) or for a reason
# of the route's own. The connection's state afterwards tells the two apart.
CONNECTION_FAILURES = (
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)

logger = structlog.get_logger(__name__)


@asynccontextmanager
async def lend(pool: asyncpg.Pool, acquire_timeout: float) -> AsyncIterator[Connection]:
    """`pool.acquire()` for request handlers: a database failure becomes a 503, nothing else does.

    Not reaching the database within `acquire_timeout`, or losing the connection while using it,
    raises ServiceUnavailableError. Any other error, the route's own included, passes through
    untouched. Giving the connection back (asyncpg resets it) has the same time limit.
    """
    try:
        # Not `acquire(timeout=...)`: before Python 3.12 asyncpg runs that in a Task of its own,
        # one more Task and loop iteration per request.
        async with asyncio.timeout(acquire_timeout):
            conn = await pool.acquire()
    except DB_UNREACHABLE_ERRORS as exc:
        raise ServiceUnavailableError("database") from exc
    try:
        yield conn
    except CONNECTION_FAILURES as exc:
        # Release first: a connection that stopped answering is found out (and dropped) there.
        if _is_closed(conn) or not await _release(pool, conn, acquire_timeout):
            raise ServiceUnavailableError("database") from exc
        raise
    finally:
        await _release(pool, conn, acquire_timeout)  # a no-op if already released


def _is_closed(conn: Connection) -> bool:
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:  # asyncpg took it back already: it closed under the route
        return True


async def _release(pool: asyncpg.Pool, conn: Connection, reset_timeout: float) -> bool:
    """Give the connection back; False if it was broken (asyncpg then closes it, freeing the slot)."""
    try:
        # The timeout bounds asyncpg's reset of the connection: one that stopped answering
        # raises TimeoutError here instead of holding the request.
        await pool.release(conn, timeout=reset_timeout)
    except (*CONNECTION_FAILURES, asyncpg.PostgresError) as exc:
        logger.warning("database_connection_dropped", error=repr(exc))
        return False
    return True


async def get_conn(request: Request) -> AsyncIterator[Connection]:
    """Lend one pooled connection to a request and give it back afterwards (see `lend`)."""
    pool: asyncpg.Pool = request.app.state.pool
    async with lend(pool, request.app.state.settings.db_acquire_timeout) as conn:
        yield conn


# scope="function": the connection goes back to the pool as soon as the route returns, before
# the response is sent and before background tasks run, so slow clients never hold one.
Conn = Annotated[Connection, Depends(get_conn, scope="function")]
