"""Users signed up through the API: `sign_up` here, or the `make_user` fixture that calls it."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import asyncpg
import httpx


@dataclass(frozen=True)
class SignedUpUser:
    id: str
    email: str
    password: str
    headers: dict[str, str]
    refresh_token: str


UserFactory = Callable[..., Awaitable[SignedUpUser]]
DEFAULT_PASSWORD = "correct horse 42"


async def sign_up(
    client: httpx.AsyncClient, email: str | None = None, display_name: str = "Ada"
) -> SignedUpUser:
    """Sign a user up and log them in, through any client (in-process or a real server)."""
    email = email or f"user-{uuid4().hex[:10]}@example.com"
    signed_up = await client.post(
        "/auth/signup",
        json={"email": email, "password": DEFAULT_PASSWORD, "displayName": display_name},
    )
    assert signed_up.status_code == 201, signed_up.text
    tokens = await log_in(client, email)
    return SignedUpUser(
        signed_up.json()["id"], email, DEFAULT_PASSWORD, bearer(tokens), tokens["refresh_token"]
    )


async def log_in(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD, **headers: str
) -> dict[str, Any]:
    """POST /auth/token, which must succeed: the token response (a new session)."""
    response = await client.post(
        "/auth/token", data={"username": email, "password": password}, headers=headers
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    """POST /auth/refresh with a refresh token in the body, whatever the answer."""
    return await client.post("/auth/refresh", json={"refresh_token": token})


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    """The Authorization header for a token response's access token."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def count_users(database_url: str) -> int:
    """How many accounts the database holds: for checking that a refusal wrote nothing."""
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM users")
    finally:
        await conn.close()
    return count
