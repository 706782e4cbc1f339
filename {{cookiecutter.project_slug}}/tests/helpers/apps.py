"""Running the app for a test: in-process through httpx, or under a real uvicorn server."""

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def running_client(
    settings: Settings, configure: Callable[[FastAPI], None] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Build an app, run its lifespan, and yield an async client talking to it in-process."""
    app = create_app(settings)
    if configure is not None:
        configure(app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client


def client_at(app: FastAPI, host: str) -> httpx.AsyncClient:
    """Another in-process client for an app already running (see `running_client`), whose
    requests come from the client address `host`: for limits counted per address."""
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@asynccontextmanager
async def serve(app: object) -> AsyncIterator[str]:
    """Run an ASGI app under a real uvicorn server on a free loopback port; yield its base URL.

    Needed where in-process transports fall short: httpx's ASGITransport returns only after the
    whole ASGI call, background tasks included, so "the client does not wait" needs a socket.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()
