"""Graceful shutdown of the real server: SIGTERM lets the requests in flight finish, then the
lifespan closes everything it opened.

The API runs as `uvicorn --factory`, as in production, in a child process. Its PostgreSQL sits
behind tests/proxy.py, slowed down so that requests are still waiting on the database when the
signal arrives.
"""

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import PostgresDsn

from {{ cookiecutter.project_slug }}.config import Settings

from tests.conftest import eventually
from tests.proxy import TcpProxy

START_TIMEOUT_S = 30
SHUTDOWN_TIMEOUT_S = 30
IN_FLIGHT = 5


@dataclass
class ServerProcess:
    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def log_events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
        return events


@contextlib.asynccontextmanager
async def uvicorn_process(settings: Settings, log_path: Path) -> AsyncIterator[ServerProcess]:
    """`uvicorn --factory` on an inherited loopback socket; yields once /health/live answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "LOG_FORMAT": "json",
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
    }
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "{{ cookiecutter.project_slug }}.main:create_app",
        "--fd",
        str(sock.fileno()),
    ]
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT, pass_fds=[sock.fileno()]
        )
    server = ServerProcess(process, f"http://127.0.0.1:{sock.getsockname()[1]}", log_path)
    sock.close()  # the child has its own copy
    try:
        async with (
            asyncio.timeout(START_TIMEOUT_S),
            httpx.AsyncClient(base_url=server.url) as client,
        ):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/health/live")).status_code == 200:
                        break
                if process.returncode is not None:
                    msg = f"uvicorn exited with {process.returncode}:\n{server.log_tail()}"
                    raise RuntimeError(msg)
                await asyncio.sleep(0.05)
        yield server
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def sign_up(client: httpx.AsyncClient) -> dict[str, str]:
    account = {"email": "ada@example.com", "password": "analytical engine 1843"}
    created = await client.post("/auth/signup", json={**account, "displayName": "Ada"})
    assert created.status_code == 201, created.text
    token = await client.post(
        "/auth/token", data={"username": account["email"], "password": account["password"]}
    )
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_sigterm_lets_requests_in_flight_finish_then_closes_every_resource(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    proxy, proxied_url = await TcpProxy.to(database_url)
    app_settings = settings.model_copy(update={"database_url": PostgresDsn(proxied_url)})
    try:
        async with (
            uvicorn_process(app_settings, tmp_path / "api.log") as server,
            httpx.AsyncClient(base_url=server.url, timeout=SHUTDOWN_TIMEOUT_S) as client,
        ):
            headers = await sign_up(client)
            post = {"title": "in flight", "body": "answered during the shutdown"}
            assert (await client.post("/posts", json=post, headers=headers)).status_code == 201

            proxy.delay = 0.2  # every answer from PostgreSQL is now late
            in_flight = [
                asyncio.create_task(client.get("/posts", headers=headers)) for _ in range(IN_FLIGHT)
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
    assert all(r.json()["items"][0]["title"] == "in flight" for r in responses)
    # uvicorn completes the shutdown, then re-raises the signal it caught, so the exit status
    # says "terminated by SIGTERM" (143 in a shell) rather than 0.
    assert returncode == -signal.SIGTERM

    events = server.log_events()
    names = [event.get("event") for event in events]
    signalled, closing = names.index("Shutting down"), names.index("shutdown_started")
    answered = [
        i
        for i, event in enumerate(events)
        if event.get("event") == "request" and event.get("path") == "/posts"
    ][1:]  # the first one wrote the post
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
