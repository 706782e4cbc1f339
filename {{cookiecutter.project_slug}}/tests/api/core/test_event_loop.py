"""S1 at run time: the blocking guard is live, and the app serves concurrent requests at once.

The concurrency tests measure no durations. N requests meet at a rendezvous that opens only once
all N are in flight together; a blocked event loop or serialised requests never open it, and a
shared deadline turns that into a failed assertion instead of a hang.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.logging import configure_logging
from {{ cookiecutter.project_slug }}.core.observability import ObservabilityMiddleware
from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import ClientFactory, serve
from tests.helpers.blocking import BlockingCalls

REQUESTS = 20
DEADLINE_S = 5.0


def autouse_guard(request: pytest.FixtureRequest) -> BlockingCalls:
    # Not requested by name: the guard must be there because it is autouse.
    assert "blocking_guard" in request.fixturenames
    guard: BlockingCalls = request.getfixturevalue("blocking_guard")
    return guard


async def test_the_guard_catches_a_blocking_call_under_the_package_and_only_there(
    base_settings: Settings, request: pytest.FixtureRequest
) -> None:
    guard = autouse_guard(request)
    configure_logging(base_settings)  # the middleware logs, as it does in the app
    sent: list[Message] = []

    async def blocking_app(scope: Scope, receive: Receive, send: Send) -> None:
        time.sleep(0.001)  # noqa: ASYNC251 - the S1 violation under test

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}

    # Wrapped in the package's own middleware, the outer layer of every request the app serves,
    # with no other library on the stack: the call is caught, and answered with the common 500.
    await ObservabilityMiddleware(blocking_app)(scope, receive, send)
    assert guard.take() == ["Blocking call to time.sleep"]
    assert sent[0]["status"] == 500

    # The very same call with none of the package's code on the stack (as in a test helper) is
    # left alone: the guard watches the package, not everything on the loop.
    await blocking_app(scope, receive, send)
    assert guard.take() == []


async def test_the_guard_lets_the_thread_pool_block(
    settings: Settings, client_for: ClientFactory, request: pytest.FixtureRequest
) -> None:
    guard = autouse_guard(request)

    def add_route(app: FastAPI) -> None:
        @app.get("/test/sleeps-in-a-thread")
        async def sleeps_in_a_thread() -> None:
            await run_in_threadpool(time.sleep, 0.001)

    async with client_for(settings, add_route) as client:
        response = await client.get("/test/sleeps-in-a-thread")
    assert response.status_code == 200
    assert guard.take() == []


@dataclass
class Rendezvous:
    """Holds every arrival until `expected` of them are waiting together, or the deadline passes."""

    expected: int
    arrived: int = 0
    waiting: int = 0
    most_waiting: int = 0
    deadline: float | None = None
    everyone: asyncio.Event = field(default_factory=asyncio.Event)

    async def meet(self) -> bool:
        """True when all `expected` met; False when the deadline passed first."""
        if self.deadline is None:
            self.deadline = asyncio.get_running_loop().time() + DEADLINE_S
        self.arrived += 1
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        if self.arrived == self.expected:
            self.everyone.set()
        try:
            async with asyncio.timeout_at(self.deadline):
                await self.everyone.wait()
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        return True


@asynccontextmanager
async def over_a_socket(
    settings: Settings, configure: Callable[[FastAPI], None]
) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client_for`, but through a real uvicorn server and real connections."""
    app = create_app(settings)
    configure(app)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("transport", ["in-process", "uvicorn"])
async def test_concurrent_requests_are_all_in_flight_at_once(
    settings: Settings, client_for: ClientFactory, transport: str
) -> None:
    rendezvous = Rendezvous(REQUESTS)

    def add_route(app: FastAPI) -> None:
        @app.get("/test/rendezvous")
        async def meet() -> dict[str, bool]:
            return {"met": await rendezvous.meet()}

    connect: ClientFactory = client_for if transport == "in-process" else over_a_socket
    async with connect(settings, add_route) as client:
        responses = await asyncio.gather(*(client.get("/test/rendezvous") for _ in range(REQUESTS)))
    assert [r.status_code for r in responses] == [200] * REQUESTS
    assert all(r.json()["met"] for r in responses), (
        f"at most {rendezvous.most_waiting} of {REQUESTS} requests were in flight at once"
    )


async def test_the_pool_lends_each_concurrent_request_its_own_connection(
    settings: Settings, client_for: ClientFactory
) -> None:
    size = 10
    pooled = settings.model_copy(update={"db_pool_max_size": size})
    rendezvous = Rendezvous(size)
    apps: list[FastAPI] = []

    def add_route(app: FastAPI) -> None:
        apps.append(app)

        # Each request holds its pooled connection while it waits for the others.
        @app.get("/test/holds-a-connection")
        async def holds_a_connection(conn: Conn) -> dict[str, Any]:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            return {"backend": backend, "met": await rendezvous.meet()}

    async with client_for(pooled, add_route) as client:
        responses = await asyncio.gather(
            *(client.get("/test/holds-a-connection") for _ in range(size))
        )
        pool = apps[0].state.pool
        idle, opened = pool.get_idle_size(), pool.get_size()
    assert [r.status_code for r in responses] == [200] * size
    assert all(r.json()["met"] for r in responses), (
        f"at most {rendezvous.most_waiting} of {size} requests held a connection at once"
    )
    assert len({r.json()["backend"] for r in responses}) == size  # a server process each
    assert idle == opened == size  # and every connection went back
