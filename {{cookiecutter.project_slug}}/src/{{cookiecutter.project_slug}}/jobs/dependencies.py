"""Who may see a job (the user who submitted it), and what starts one."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request, Response, status

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.celery import CeleryClient
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
from {{ cookiecutter.project_slug }}.jobs import service
from {{ cookiecutter.project_slug }}.jobs.exceptions import JobNotFoundError, NotJobOwnerError
from {{ cookiecutter.project_slug }}.jobs.service import JobRecord


async def valid_owned_job(job_id: UUID, user: CurrentUser, conn: Conn) -> JobRecord:
    job = await service.get_job(conn, job_id)
    if job is None:
        raise JobNotFoundError
    if job["owner_id"] != user["id"]:
        raise NotJobOwnerError
    return job


OwnedJob = Annotated[JobRecord, Depends(valid_owned_job)]


# What every route that starts a job documents.
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    status.HTTP_202_ACCEPTED: {
        "description": "The job, queued",
        "headers": {
            "Location": {
                "description": "The job's URL (GET it until its status is final).",
                "required": True,
                "schema": {"type": "string", "format": "uri"},
            }
        },
    },
    **error_responses(status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE),
}
SUBMIT_DESCRIPTION = (
    "Answers 202 with the queued job; poll the Location URL for its result. At most "
    "JOBS_MAX_ACTIVE_PER_USER of a user's jobs may be queued or running at once."
)


# `await submit(kind, params)`: the caller's job of that kind queued, as the route answers it.
Submit = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def job_submitter(
    user: CurrentUser,
    conn: Conn,
    celery: CeleryClient,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> Submit:
    """What every route that starts a job needs: it queues the job (at most
    JOBS_MAX_ACTIVE_PER_USER queued or running per user) and points `Location` at it."""

    async def submit(kind: str, params: dict[str, Any]) -> dict[str, Any]:
        job = await service.submit_job(
            conn,
            celery,
            user["id"],
            kind=kind,
            params=params,
            max_active=settings.jobs_max_active_per_user,
        )
        response.headers["Location"] = str(request.url_for("read_job", job_id=str(job["id"])))
        return dict(job)

    return submit


SubmitJob = Annotated[Submit, Depends(job_submitter)]
