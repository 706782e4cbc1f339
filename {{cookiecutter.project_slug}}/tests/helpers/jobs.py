"""Submitting report jobs and waiting for them, for the tests that run a real worker."""

from typing import Any
from uuid import UUID

import asyncpg
import httpx

from tests.helpers.polling import eventually
from tests.helpers.users import SignedUpUser


async def submit(client: httpx.AsyncClient, user: SignedUpUser, **params: Any) -> httpx.Response:
    response = await client.post("/jobs", json=params, headers=user.headers)
    assert response.status_code == 202, response.text
    return response


async def finished_job(
    client: httpx.AsyncClient, user: SignedUpUser, job_id: str, timeout_s: float = 60
) -> dict[str, Any]:
    job: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal job
        job = (await client.get(f"/jobs/{job_id}", headers=user.headers)).json()
        return job["status"] in ("succeeded", "failed")

    await eventually(finished, timeout_s)
    return job


async def seed_posts(database_url: str, author_id: str, count: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """INSERT INTO posts (author_id, title, body)
            SELECT $1, 'post ' || n, (SELECT string_agg(md5((n * 100 + k)::text), ' ') FROM generate_series(1, 40) k)
            FROM generate_series(1, $2) n""",
            UUID(author_id),
            count,
        )
    finally:
        await conn.close()
