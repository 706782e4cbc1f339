"""Sign-up's verification email and audit event run after the response (S5), on a real server.

The email provider is the one thing we cannot run: tests/helpers/email.py fakes its HTTP API on
loopback, and the app's real httpx client sends real requests to it.
"""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import serve
from tests.helpers.email import EMAIL_KEY, FakeEmailProvider, running_provider, with_provider
from tests.helpers.logs import LogEvents
from tests.helpers.polling import eventually
from tests.helpers.users import count_users

SIGNUP = {"email": "ada@example.com", "password": "analytical engine 1843", "displayName": "Ada"}


@pytest.fixture
async def provider() -> AsyncIterator[FakeEmailProvider]:
    async with running_provider(open_gate=False) as fake:
        yield fake


async def audit_events(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return [row["event"] for row in await conn.fetch("SELECT event FROM audit_events")]
    finally:
        await conn.close()


async def test_signup_answers_before_the_email_is_sent(
    settings: Settings, database_url: str, provider: FakeEmailProvider
) -> None:
    fake = provider
    async with (
        serve(create_app(with_provider(settings, fake))) as api,
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
    assert email["json"]["subject"] == f"Confirm your {settings.app_name} address"
    assert "Hi Ada" in email["json"]["text"]
    assert "/verify-email?token=" in email["json"]["text"]
    assert email["json"]["from"] == settings.email_sender


async def test_failing_provider_is_logged_and_signup_still_succeeds(
    settings: Settings,
    database_url: str,
    provider: FakeEmailProvider,
    log_events: LogEvents,
) -> None:
    fake = provider
    fake.status_code = 503
    fake.gate.set()
    async with (
        serve(create_app(with_provider(settings, fake))) as api,
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
    assert (await count_users(database_url)) == 1


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
