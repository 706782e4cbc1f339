"""Starting jobs and waiting for them, for the tests that run a real worker."""

import asyncio
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from {{ cookiecutter.project_slug }}.core.celery import create_celery
from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.jobs import service

from tests.helpers.polling import eventually
from tests.helpers.users import SignedUpUser

EXPORT_PATH = "/jobs/account-export"


async def submit(client: httpx.AsyncClient, user: SignedUpUser, **params: Any) -> httpx.Response:
    """Start an account export, the job every render with a worker has, through the API."""
    response = await client.post(EXPORT_PATH, json=params, headers=user.headers)
    assert response.status_code == 202, response.text
    return response


async def submit_test_job(
    settings: Settings, owner_id: str, task: str, params: dict[str, Any]
) -> str:
    """Store a job for one of tests/helpers/job_tasks.py's tasks and publish it; its id."""
    async with (
        asyncpg.create_pool(str(settings.database_url), min_size=1, max_size=1) as pool,
        pool.acquire() as conn,
    ):
        job = await service.create_job(conn, UUID(owner_id), task, params)
    celery = create_celery(settings)
    try:
        await asyncio.to_thread(celery.send_task, task, args=[str(job["id"])])
    finally:
        await asyncio.to_thread(celery.close)
    return str(job["id"])


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
