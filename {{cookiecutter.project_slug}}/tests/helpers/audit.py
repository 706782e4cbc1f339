"""Audit events for tests that need more of them than a sign-up writes (it writes one)."""

from typing import Any
from uuid import UUID

import asyncpg
import httpx

from {{ cookiecutter.project_slug }}.audit import service

from tests.helpers.users import SignedUpUser

SIGNED_UP = "user.signed_up"  # what POST /auth/signup records (auth/router.py)


async def record_events(database_url: str, user_id: str, events: list[str]) -> None:
    """Record `events` for the user, oldest first, through the app's own audit service."""
    async with (
        asyncpg.create_pool(database_url, min_size=1, max_size=1) as pool,
        pool.acquire() as conn,
    ):
        for n, event in enumerate(events):
            await service.record_event(conn, UUID(user_id), event, {"n": n})


async def list_events(
    client: httpx.AsyncClient, user: SignedUpUser, **params: Any
) -> dict[str, Any]:
    """One page of GET /audit-events for the user."""
    response = await client.get("/audit-events", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page
