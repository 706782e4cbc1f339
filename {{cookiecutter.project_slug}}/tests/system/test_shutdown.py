"""Graceful shutdown of the real server: SIGTERM lets the requests in flight finish, then the
lifespan closes everything it opened.

The API runs as `uvicorn --factory`, as in production, in a child process. Its PostgreSQL sits
behind tests/helpers/proxy.py, slowed down so that requests are still waiting on the database when the
signal arrives.
"""

import asyncio
import signal
from pathlib import Path

import httpx
from pydantic import PostgresDsn

from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.polling import eventually
from tests.helpers.proxy import TcpProxy
from tests.helpers.servers import uvicorn_process
from tests.helpers.users import sign_up

SHUTDOWN_TIMEOUT_S = 30
IN_FLIGHT = 5


async def test_sigterm_lets_requests_in_flight_finish_then_closes_every_resource(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    proxy, proxied_url = await TcpProxy.to(database_url)
    app_settings = settings.model_copy(update={"database_url": PostgresDsn(proxied_url)})
    try:
        async with (
            uvicorn_process(app_settings, tmp_path / "api.log") as server,
            httpx.AsyncClient(base_url=server.base_url, timeout=SHUTDOWN_TIMEOUT_S) as client,
        ):
            headers = (await sign_up(client)).headers
            renamed = {"displayName": "in flight"}
            renaming = await client.patch("/users/me", json=renamed, headers=headers)
            assert renaming.status_code == 200

            proxy.delay = 0.2  # every answer from PostgreSQL is now late
            in_flight = [
                asyncio.create_task(client.get("/users/me", headers=headers))
                for _ in range(IN_FLIGHT)
            ]

            async def all_waiting_on_the_database() -> bool:
                return proxy.held >= IN_FLIGHT

            await eventually(all_waiting_on_the_database)
            server.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
                responses = await asyncio.gather(*in_flight)
                returncode = await server.process.wait()
    finally:
        await proxy.stop()

    assert [response.status_code for response in responses] == [200] * IN_FLIGHT
    assert all(r.json()["displayName"] == "in flight" for r in responses)
    # uvicorn completes the shutdown, then re-raises the signal it caught, so the exit status
    # says "terminated by SIGTERM" (143 in a shell) rather than 0.
    assert returncode == -signal.SIGTERM

    events = server.log_events()
    names = [event.get("event") for event in events]
    signalled, closing = names.index("Shutting down"), names.index("shutdown_started")
    answered = [
        i
        for i, event in enumerate(events)
        if event.get("event") == "request"
        and event.get("path") == "/users/me"
        and event.get("method") == "GET"
    ]
    assert len(answered) == IN_FLIGHT
    # The signal came while the requests were running; the lifespan waited for all of them.
    assert signalled < min(answered)
    assert max(answered) < closing
    closed = [e["resource"] for e in events[closing:] if e.get("event") == "resource_closed"]
    # Everything the lifespan opened, closed in reverse order.
    assert closed == [
{%- if cookiecutter.include_celery == 'y' %}
        "celery",
{%- endif %}
        "db_pool",
        "redis",
        "http_client",
        "process_pool",
    ]
    assert "Application shutdown complete." in names[closing:]  # uvicorn's own line
