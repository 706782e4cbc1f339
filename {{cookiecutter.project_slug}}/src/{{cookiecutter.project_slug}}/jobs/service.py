"""Jobs: submitting one, and the SQL behind it. A job row moves queued -> running -> succeeded |
failed, and only forward."""

import json
from datetime import datetime
from typing import Any, Literal, TypedDict, cast
from uuid import UUID

import asyncpg
import structlog
from celery import Celery

from {{ cookiecutter.project_slug }}.core.database import Connection
from {{ cookiecutter.project_slug }}.core.errors import ServiceUnavailableError
from {{ cookiecutter.project_slug }}.core.logging import current_request_id
from {{ cookiecutter.project_slug }}.jobs import queue
from {{ cookiecutter.project_slug }}.jobs.exceptions import TooManyActiveJobsError

JobStatus = Literal["queued", "running", "succeeded", "failed"]
_SUMMARY_COLUMNS = (
    "id, owner_id, kind, status, params, error, attempts, created_at, started_at, finished_at"
)
_COLUMNS = f"{_SUMMARY_COLUMNS}, result"


class JobRecord(TypedDict):
    id: UUID
    owner_id: UUID
    kind: str
    status: JobStatus
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


logger = structlog.get_logger(__name__)


def _job(row: asyncpg.Record) -> JobRecord:
    job = dict(row)
    job["params"] = json.loads(job["params"])
    result = job.get("result")
    job["result"] = json.loads(result) if result is not None else None
    return cast(JobRecord, job)


async def submit_job(
    conn: Connection,
    celery: Celery,
    owner_id: UUID,
    *,
    kind: str,
    params: dict[str, Any],
    max_active: int,
) -> JobRecord:
    """Store a queued job of `kind` and publish the task of that name; the worker runs it.

    TooManyActiveJobsError if the owner already has `max_active` jobs queued or running;
    ServiceUnavailableError if the queue is down. Row first, message second: the worker can
    always find the job its message names. If the broker is down the row is marked failed, so
    nothing is left queued that never will run.
    """
    async with conn.transaction():
        # One submission per owner at a time, so two at once cannot both pass the count.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", str(owner_id))
        if await count_active_jobs(conn, owner_id) >= max_active:
            raise TooManyActiveJobsError(max_active)
        job = await create_job(conn, owner_id, kind, params)
    try:
        await queue.enqueue(celery, kind, str(job["id"]), current_request_id())
    except queue.QueueUnavailableError as exc:
        await fail_job(conn, job["id"], "could not be queued: the job queue was unavailable")
        logger.error("job_not_queued", job_id=str(job["id"]), error=str(exc))
        raise ServiceUnavailableError(
            "job queue",
            "The job queue is unavailable; the job was not queued (it is marked failed). "
            "Try again shortly.",
        ) from exc
    return job


async def create_job(
    conn: Connection, owner_id: UUID, kind: str, params: dict[str, Any]
) -> JobRecord:
    row = await conn.fetchrow(
        f"INSERT INTO jobs (owner_id, kind, params) VALUES ($1, $2, $3::jsonb) RETURNING {_COLUMNS}",  # noqa: S608 - constant column list
        owner_id,
        kind,
        json.dumps(params),
    )
    return _job(row)  # type: ignore[arg-type]


async def get_job(conn: Connection, job_id: UUID) -> JobRecord | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM jobs WHERE id = $1", job_id)  # noqa: S608
    return _job(row) if row is not None else None


async def list_jobs(conn: Connection, owner_id: UUID, limit: int, offset: int) -> list[JobRecord]:
    """The owner's jobs without their results (which can be large), newest first."""
    rows = await conn.fetch(
        f"SELECT {_SUMMARY_COLUMNS} FROM jobs WHERE owner_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",  # noqa: S608
        owner_id,
        limit,
        offset,
    )
    return [_job(row) for row in rows]


async def count_jobs(conn: Connection, owner_id: UUID) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM jobs WHERE owner_id = $1", owner_id)
    return count


async def count_active_jobs(conn: Connection, owner_id: UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM jobs WHERE owner_id = $1 AND status IN ('queued', 'running')",
        owner_id,
    )
    return count


async def claim_job(conn: Connection, job_id: UUID) -> JobRecord | None:
    """Mark a queued (or interrupted) job running; None if it is finished or unknown.

    A job found `running` was interrupted (its worker died) and its message came back: it runs
    again, which is safe because the work is deterministic and the result is written once.
    """
    row = await conn.fetchrow(
        f"""UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now())
        WHERE id = $1 AND status IN ('queued', 'running') RETURNING {_COLUMNS}""",  # noqa: S608
        job_id,
    )
    return _job(row) if row is not None else None


async def finish_job(conn: Connection, job_id: UUID, result: dict[str, Any]) -> bool:
    """Store the result unless the job already has one; True if this call finished it."""
    status = await conn.execute(
        "UPDATE jobs SET status = 'succeeded', result = $2::jsonb, error = NULL, finished_at = now() "
        "WHERE id = $1 AND status = 'running'",
        job_id,
        json.dumps(result),
    )
    return status == "UPDATE 1"


async def fail_job(conn: Connection, job_id: UUID, error: str) -> bool:
    status = await conn.execute(
        "UPDATE jobs SET status = 'failed', error = $2, finished_at = now() "
        "WHERE id = $1 AND status IN ('queued', 'running')",
        job_id,
        error,
    )
    return status == "UPDATE 1"
