import asyncio
import os

import anyio.to_thread
import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import PostgresDsn, RedisDsn

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import ClientFactory
from tests.helpers.database import with_database


async def test_live_answers_without_touching_dependencies(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_live_answers_head_for_uptime_checkers(client: httpx.AsyncClient) -> None:
    response = await client.head("/health/live")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["x-request-id"]  # the same middleware as every other request


async def test_ready_when_postgres_and_redis_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


async def test_not_ready_when_postgres_is_unreachable(
    settings: Settings, client_for: ClientFactory, closed_port: int
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port}/nothing"
    async with client_for(settings.model_copy(update={"database_url": PostgresDsn(url)})) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"postgres": "unavailable", "redis": "ok"},
    }


async def test_ready_answers_head_with_the_same_status(
    settings: Settings, client_for: ClientFactory, client: httpx.AsyncClient, closed_port: int
) -> None:
    ready = await client.head("/health/ready")
    assert (ready.status_code, ready.content) == (200, b"")
    url = RedisDsn(f"redis://127.0.0.1:{closed_port}/0")
    async with client_for(settings.model_copy(update={"redis_url": url})) as down:
        not_ready = await down.head("/health/ready")
    assert (not_ready.status_code, not_ready.content) == (503, b"")


async def test_not_ready_when_redis_is_unreachable(
    settings: Settings, client_for: ClientFactory, closed_port: int
) -> None:
    url = RedisDsn(f"redis://127.0.0.1:{closed_port}/0")
    async with client_for(settings.model_copy(update={"redis_url": url})) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"postgres": "ok", "redis": "unavailable"}


async def test_ready_gives_up_after_the_configured_timeout(
    settings: Settings, client_for: ClientFactory, silent_port: int
) -> None:
    hanging = settings.model_copy(
        update={
            "redis_url": RedisDsn(f"redis://127.0.0.1:{silent_port}/0"),
            "health_check_timeout": 0.2,
        }
    )
    async with client_for(hanging) as client:
        # The outer bound only turns a hang into a failure; the probe's own timeout must fire first.
        async with asyncio.timeout(10):
            response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"postgres": "ok", "redis": "timeout"}


async def test_startup_with_a_bad_database_name_fails_and_closes_what_it_opened(
    settings: Settings, database_url: str
) -> None:
    missing = with_database(database_url, "no_such_database_for_this_test")
    app = create_app(settings.model_copy(update={"database_url": PostgresDsn(missing)}))
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        async with LifespanManager(app):
            pass
    assert app.state.http_client.is_closed
    with pytest.raises(RuntimeError, match="after shutdown"):
        app.state.process_pool.submit(int)


async def test_shutdown_closes_every_resource(settings: Settings) -> None:
    app = create_app(settings)
    async with LifespanManager(app):
        pool = app.state.pool
        assert not pool.is_closing()
        assert not app.state.http_client.is_closed
    assert pool.is_closing()
    assert app.state.http_client.is_closed
    with pytest.raises(RuntimeError, match="after shutdown"):
        app.state.process_pool.submit(int)


async def test_thread_pool_size_comes_from_settings(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"thread_pool_size": 13}))
    async with LifespanManager(app):
        assert anyio.to_thread.current_default_thread_limiter().total_tokens == 13


@pytest.mark.parametrize("niceness", [0, 7])
async def test_process_pool_runs_below_the_event_loops_priority(
    settings: Settings, niceness: int
) -> None:
    app = create_app(settings.model_copy(update={"background_niceness": niceness}))
    async with LifespanManager(app):
        # os.nice(0) changes nothing and returns the niceness of the process it runs in.
        future = app.state.process_pool.submit(os.nice, 0)
        in_pool = await asyncio.wait_for(asyncio.wrap_future(future), timeout=30)
    assert in_pool == os.nice(0) + niceness
