"""Signup's welcome email and audit event run after the response (S5), against a real server.

The email provider is the one thing we cannot run, so a small fake of its HTTP API listens on
loopback: the app's real httpx client sends real requests to it.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import HttpUrl, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import serve
from tests.helpers.logs import LogEvents
from tests.helpers.polling import eventually

EMAIL_KEY = "test-provider-key"
SIGNUP = {"email": "ada@example.com", "password": "analytical engine 1843", "displayName": "Ada"}


@dataclass
class FakeEmailProvider:
    status_code: int = 200
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[dict[str, Any]] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    async def emails(self, request: Request) -> JSONResponse:
        self.received.append(
            {"json": await request.json(), "authorization": request.headers.get("authorization")}
        )
        await self.gate.wait()
        self.answered.set()
        return JSONResponse({"id": "email-1"}, status_code=self.status_code)


@pytest.fixture
async def provider() -> AsyncIterator[tuple[FakeEmailProvider, str]]:
    fake = FakeEmailProvider()
    async with serve(Starlette(routes=[Route("/emails", fake.emails, methods=["POST"])])) as url:
        yield fake, url


def with_provider(settings: Settings, url: str) -> Settings:
    return settings.model_copy(
        update={"email_api_url": HttpUrl(url), "email_api_key": SecretStr(EMAIL_KEY)}
    )


async def audit_events(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return [row["event"] for row in await conn.fetch("SELECT event FROM audit_events")]
    finally:
        await conn.close()


async def test_signup_answers_before_the_email_is_sent(
    settings: Settings, database_url: str, provider: tuple[FakeEmailProvider, str]
) -> None:
    fake, provider_url = provider
    async with (
        serve(create_app(with_provider(settings, provider_url))) as api,
        httpx.AsyncClient(base_url=api) as client,
    ):
        # The provider holds every request until the gate opens; a signup that waited for the
        # email would never answer and the timeout would fail the test.
        async with asyncio.timeout(10):
            response = await client.post("/auth/signup", json=SIGNUP)
        assert response.status_code == 201
        assert not fake.answered.is_set()

        fake.gate.set()
        async with asyncio.timeout(10):
            await fake.answered.wait()

        async def audited() -> bool:
            return "user.signed_up" in await audit_events(database_url)

        await eventually(audited)

    [email] = fake.received
    assert email["authorization"] == f"Bearer {EMAIL_KEY}"
    assert email["json"]["to"] == ["ada@example.com"]
    assert email["json"]["subject"] == f"Welcome to {settings.app_name}"
    assert "Hi Ada" in email["json"]["text"]
    assert email["json"]["from"] == settings.email_sender


async def test_failing_provider_is_logged_and_signup_still_succeeds(
    settings: Settings,
    database_url: str,
    provider: tuple[FakeEmailProvider, str],
    log_events: LogEvents,
) -> None:
    fake, provider_url = provider
    fake.status_code = 503
    fake.gate.set()
    async with (
        serve(create_app(with_provider(settings, provider_url))) as api,
        httpx.AsyncClient(base_url=api) as client,
    ):
        response = await client.post("/auth/signup", json=SIGNUP)

        async def failure_logged() -> bool:
            return bool(log_events("email_failed"))

        await eventually(failure_logged)
    assert response.status_code == 201
    [failure] = log_events("email_failed")
    assert failure["request_id"] == response.headers["x-request-id"]
    assert "503" in failure["error"]
    assert (await user_count(database_url)) == 1


async def user_count(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM users")
    finally:
        await conn.close()
    return count


async def test_without_a_provider_the_email_is_skipped_and_logged(
    settings: Settings, log_events: LogEvents
) -> None:
    async with serve(create_app(settings)) as api, httpx.AsyncClient(base_url=api) as client:
        response = await client.post("/auth/signup", json=SIGNUP)

        async def skip_logged() -> bool:
            return bool(log_events("email_skipped"))

        await eventually(skip_logged)
    assert response.status_code == 201
    [skipped] = log_events("email_skipped")
    assert skipped["request_id"] == response.headers["x-request-id"]
