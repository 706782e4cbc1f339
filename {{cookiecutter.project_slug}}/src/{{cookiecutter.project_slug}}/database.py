"""Connections for request handlers (S11)."""

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, TypeAlias

import asyncpg
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


async def get_conn(request: Request) -> AsyncIterator[Connection]:
    """Lend one pooled connection to a request and give it back afterwards.

    Equivalent to `async with pool.acquire()`, written out so that only a failure to *get* a
    connection becomes a 503; errors raised by the route itself pass through untouched.
    """
    pool: asyncpg.Pool = request.app.state.pool
    timeout = request.app.state.settings.db_acquire_timeout
    try:
        conn = await pool.acquire(timeout=timeout)
    except DB_UNREACHABLE_ERRORS as exc:
        raise ServiceUnavailableError("database") from exc
    try:
        yield conn
    finally:
        await pool.release(conn)


# scope="function": the connection goes back to the pool as soon as the route returns, before
# the response is sent and before background tasks run, so slow clients never hold one.
Conn = Annotated[Connection, Depends(get_conn, scope="function")]
