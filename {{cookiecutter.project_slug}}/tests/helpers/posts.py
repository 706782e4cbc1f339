"""Writing example posts through the API."""

from typing import Any

import httpx

from tests.helpers.users import SignedUpUser

POST = {"title": "Notes on the engine", "body": "It weaves algebraic patterns."}


async def write_post(
    client: httpx.AsyncClient, user: SignedUpUser, **fields: Any
) -> dict[str, Any]:
    response = await client.post("/posts", json={**POST, **fields}, headers=user.headers)
    assert response.status_code == 201, response.text
    post: dict[str, Any] = response.json()
    return post


async def write_posts(client: httpx.AsyncClient, user: SignedUpUser, bodies: list[str]) -> None:
    for n, body in enumerate(bodies):
        await write_post(client, user, title=f"post {n}", body=body)
