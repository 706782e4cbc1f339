"""Fixtures for tests against real services.

Each test session creates its own PostgreSQL database (unique name, dropped at the end) on the
server named by DATABASE_URL, and uses Redis at REDIS_URL. Both are read through `Settings`, so a
`.env` file or environment variables work as they do for the app. An unreachable service fails
the session with a message saying which one and how to start it; nothing is skipped.
"""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import PostgresDsn
from redis.asyncio import Redis

from {{ cookiecutter.project_slug }}.config import Environment, Settings
from {{ cookiecutter.project_slug }}.main import create_app

ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def logged(
    records: list[logging.LogRecord], event: str
) -> list[tuple[logging.LogRecord, dict[str, Any]]]:
    """The structlog events named `event` among captured records, with their key/values."""
    return [(r, r.msg) for r in records if isinstance(r.msg, dict) and r.msg.get("event") == event]


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return Settings(environment=Environment.TEST)


@pytest.fixture(scope="session")
async def database_url(base_settings: Settings) -> AsyncIterator[str]:
    server_url = str(base_settings.database_url)
    admin_url = with_database(server_url, "postgres")
    name = f"{{ cookiecutter.project_slug }}_test_{uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {without_password(admin_url)} ({exc!r}). Start it "
            "(for example `docker compose up -d postgres`) or point DATABASE_URL at a server.",
            pytrace=False,
        )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()

    yield with_database(server_url, name)

    admin = await asyncpg.connect(admin_url, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def redis_reachable(base_settings: Settings) -> None:
    client = Redis.from_url(str(base_settings.redis_url), socket_connect_timeout=5)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the service is missing
        pytest.fail(
            f"Redis is not reachable at {without_password(str(base_settings.redis_url))} "
            f"({exc!r}). Start it (for example `docker compose up -d redis`) or set REDIS_URL.",
            pytrace=False,
        )
    finally:
        await client.aclose()


@pytest.fixture
def settings(base_settings: Settings, database_url: str, redis_reachable: None) -> Settings:
    return base_settings.model_copy(update={"database_url": PostgresDsn(database_url)})


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


@pytest.fixture
def client_for() -> ClientFactory:
    """`async with client_for(settings, configure) as client:` for tests that need other settings."""
    return running_client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_client(settings) as client:
        yield client


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound without listen, so connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A loopback port that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()
