"""Users signed up through the API: `sign_up` here, or the `make_user` fixture that calls it."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import uuid4

import httpx


@dataclass(frozen=True)
class SignedUpUser:
    id: str
    email: str
    password: str
    headers: dict[str, str]


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
    token = await client.post("/auth/token", data={"username": email, "password": DEFAULT_PASSWORD})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return SignedUpUser(signed_up.json()["id"], email, DEFAULT_PASSWORD, headers)
