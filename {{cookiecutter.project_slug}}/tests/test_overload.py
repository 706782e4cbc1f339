"""Overload: more concurrent requests than the pool has connections, on a slow database.

The app runs in a real uvicorn server with a pool of two connections, talking to Postgres
through a proxy that delays every reply, so each request holds its connection for a while. A
first batch of requests is sent, and while it is still in flight a second one. The service must
not lock up: a request that cannot get a connection within DB_ACQUIRE_TIMEOUT is refused at
once with a 503 in the common error shape, every request ends within a bound that follows from
the settings, and the first request after the load succeeds.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import PostgresDsn

from {{ cookiecutter.project_slug }}.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.conftest import UserFactory, eventually, serve
from tests.load import report

POOL_SIZE = 2
DELAY_S = 0.1  # added to every reply Postgres sends, so each query takes at least this long
REQUESTS_PER_BATCH = 12
# GET /posts sends four commands while it holds its connection: the caller (CurrentUser), the
# page, the count, and the reset asyncpg runs when the connection goes back to the pool (before
# the response, see database.Conn). asyncpg cuts off each one after DB_COMMAND_TIMEOUT.
COMMANDS_PER_REQUEST = 4


@dataclass
class SlowProxy:
    """Forwards loopback connections to Postgres, holding each reply for `delay` seconds."""

    target_host: str
    target_port: int
    delay: float = 0.0
    held: int = 0  # replies being held right now: queries in progress
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            self.target_host, self.target_port
        )
        self._writers += [writer, upstream_writer]
        await asyncio.gather(
            self._pipe(reader, upstream_writer, delayed=False),
            self._pipe(upstream_reader, writer, delayed=True),
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, delayed: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if delayed and self.delay:
                    self.held += 1
                    try:
                        await asyncio.sleep(self.delay)
                    finally:
                        self.held -= 1
                writer.write(data)
                await writer.drain()
        writer.close()

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def slow_database(settings: Settings) -> AsyncIterator[tuple[Settings, SlowProxy]]:
    """Settings for a small pool on a slow database (the same one), and the proxy that slows it."""
    target = urlsplit(str(settings.database_url))
    proxy = SlowProxy(target.hostname or "127.0.0.1", target.port or 5432)
    port = await proxy.start()
    credentials = target.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    through_proxy = target._replace(netloc=netloc).geturl()
    yield (
        settings.model_copy(
            update={
                "database_url": PostgresDsn(through_proxy),
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
    slow_database: tuple[Settings, SlowProxy],
    make_user: UserFactory,
    client: httpx.AsyncClient,
    request: pytest.FixtureRequest,
) -> None:
    settings, proxy = slow_database
    user = await make_user()
    created = await client.post("/posts", json={"title": "t", "body": "b"}, headers=user.headers)
    assert created.status_code == 201
    # A request waits at most DB_ACQUIRE_TIMEOUT for a connection, then sends at most
    # COMMANDS_PER_REQUEST commands, each cut off after DB_COMMAND_TIMEOUT: none may take longer.
    bound = settings.db_acquire_timeout + COMMANDS_PER_REQUEST * settings.db_command_timeout
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=2 * REQUESTS_PER_BATCH + 1)

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
        first = [asyncio.create_task(get("/posts")) for _ in range(REQUESTS_PER_BATCH)]

        async def first_batch_querying() -> bool:
            return proxy.held > 0

        await eventually(first_batch_querying)
        still_in_flight = sum(not task.done() for task in first)
        second = [asyncio.create_task(get("/posts")) for _ in range(REQUESTS_PER_BATCH)]
        live = asyncio.create_task(get("/health/live"))  # needs no database: answers meanwhile
        results = await asyncio.gather(*first, *second)
        live_response, _ = await live

        after_load, time_to_success = await get("/posts")

    refused = [(r, t) for r, t in results if r.status_code == 503]
    served = [(r, t) for r, t in results if r.status_code == 200]
    report(
        request.config,
        f"\noverload: pool {POOL_SIZE}, {2 * REQUESTS_PER_BATCH} requests in two overlapping "
        f"batches ({still_in_flight} of the first still in flight when the second started): "
        f"{len(served)} x 200, {len(refused)} x 503; slowest 503 after "
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
