"""Overload: more concurrent requests than the pool has connections, on a slow database.

The app runs in a real uvicorn server with a pool of two connections, talking to Postgres
through a proxy that delays every reply, so each request holds its connection for a while. A
first batch of requests is sent, and while it is still in flight a second one, which includes
the summary route: it needs more than one connection per request. The service must
not lock up: a request that cannot get a connection within DB_ACQUIRE_TIMEOUT is refused at
once with a 503 in the common error shape, every request ends within a bound that follows from
the settings, and the first request after the load succeeds.
"""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import PostgresDsn

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import serve
from tests.helpers.load import report
from tests.helpers.polling import eventually
from tests.helpers.proxy import TcpProxy
from tests.helpers.users import UserFactory

POOL_SIZE = 2
DELAY_S = 0.1  # added to every reply Postgres sends, so each query takes at least this long
REQUESTS_PER_BATCH = 12
# The first batch reads the caller's account (a connection for the user lookup), the second also
# asks for summaries, whose counts each need a connection of their own (S17), from a pool of two.
FIRST_BATCH = ["/users/me"] * REQUESTS_PER_BATCH
SECOND_BATCH = ["/users/me", "/users/me/summary"] * (REQUESTS_PER_BATCH // 2)
# The longest path through either route: wait for the request's connection, the caller's query,
# wait for the extra connections (the summary's, acquired together), a query and the reset
# asyncpg runs as each goes back to the pool (before the response, see database.Conn), then the
# request connection's reset. asyncpg cuts off each command after DB_COMMAND_TIMEOUT.
ACQUIRES_IN_A_ROW = 2
COMMANDS_IN_A_ROW = 4


@pytest.fixture
async def slow_database(settings: Settings) -> AsyncIterator[tuple[Settings, TcpProxy]]:
    """Settings for a small pool on the test database, behind the proxy (not slow yet)."""
    proxy, url = await TcpProxy.to(str(settings.database_url))
    yield (
        settings.model_copy(
            update={
                "database_url": PostgresDsn(url),
                "db_pool_min_size": POOL_SIZE,
                "db_pool_max_size": POOL_SIZE,
                "db_acquire_timeout": 0.2,
                "db_command_timeout": 2.0,
            }
        ),
        proxy,
    )
    await proxy.stop()


def is_unavailable_error(response: httpx.Response) -> bool:
    return response.status_code == 503 and response.json() == {
        "error": {
            "code": "service_unavailable",
            "message": "database is unavailable, try again shortly",
            "requestId": response.headers["x-request-id"],
            "details": [],
        }
    }


async def test_requests_beyond_the_pool_get_a_fast_503_and_the_service_recovers(
    slow_database: tuple[Settings, TcpProxy],
    make_user: UserFactory,
    client: httpx.AsyncClient,
    request: pytest.FixtureRequest,
) -> None:
    settings, proxy = slow_database
    user = await make_user()
    # No request may take longer than waiting out each acquire and each command in a row.
    bound = (
        ACQUIRES_IN_A_ROW * settings.db_acquire_timeout
        + COMMANDS_IN_A_ROW * settings.db_command_timeout
    )
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=len(FIRST_BATCH) + len(SECOND_BATCH) + 1)

    async with (
        serve(create_app(settings)) as base_url,
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=bound) as http,
    ):

        async def get(path: str) -> tuple[httpx.Response, float]:
            started = loop.time()
            async with asyncio.timeout(bound):
                response = await http.get(path, headers=user.headers)
            return response, loop.time() - started

        proxy.delay = DELAY_S
        first = [asyncio.create_task(get(path)) for path in FIRST_BATCH]

        async def first_batch_querying() -> bool:
            return proxy.held > 0

        await eventually(first_batch_querying)
        still_in_flight = sum(not task.done() for task in first)
        second = [asyncio.create_task(get(path)) for path in SECOND_BATCH]
        live = asyncio.create_task(get("/health/live"))  # needs no database: answers meanwhile
        results = await asyncio.gather(*first, *second)
        live_response, _ = await live

        after_load, time_to_success = await get("/users/me")

    by_path: dict[str, dict[int, int]] = {}
    for response, _ in results:
        statuses = by_path.setdefault(response.request.url.path, {})
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    refused = [(r, t) for r, t in results if r.status_code == 503]
    served = [(r, t) for r, t in results if r.status_code == 200]
    report(
        request.config,
        f"\noverload: pool {POOL_SIZE}, {len(results)} requests in two overlapping "
        f"batches ({still_in_flight} of the first still in flight when the second started): "
        f"{len(served)} x 200, {len(refused)} x 503 {by_path}; slowest 503 after "
        f"{max((t for _, t in refused), default=0):.2f} s (acquire timeout "
        f"{settings.db_acquire_timeout} s), slowest 200 after "
        f"{max((t for _, t in served), default=0):.2f} s; first request after the load: "
        f"{after_load.status_code} in {time_to_success:.2f} s",
    )
    assert still_in_flight > 0
    assert len(served) + len(refused) == len(results), [r.status_code for r, _ in results]
    assert served, "no request got a connection"
    assert refused, "the load never exhausted the pool"
    assert all(is_unavailable_error(response) for response, _ in refused)
    assert live_response.status_code == 200
    assert after_load.status_code == 200
