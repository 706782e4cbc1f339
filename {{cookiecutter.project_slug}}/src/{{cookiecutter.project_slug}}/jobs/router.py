from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request, Response, status

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.database import Conn
from {{ cookiecutter.project_slug }}.dependencies import CeleryClient
from {{ cookiecutter.project_slug }}.errors import ErrorResponse
from {{ cookiecutter.project_slug }}.jobs import queue, service
from {{ cookiecutter.project_slug }}.jobs.dependencies import OwnedJob
from {{ cookiecutter.project_slug }}.jobs.exceptions import JobQueueUnavailableError
from {{ cookiecutter.project_slug }}.jobs.schemas import JobOut, JobPage, ReportParams

logger = structlog.get_logger(__name__)

router = APIRouter(
    prefix="/jobs",
    tags=["jobs"],
    responses={
        status.HTTP_401_UNAUTHORIZED: {
            "model": ErrorResponse,
            "description": "Missing or invalid token",
        }
    },
)
OWNED: dict[int | str, dict[str, Any]] = {
    status.HTTP_403_FORBIDDEN: {"model": ErrorResponse, "description": "Someone else's job"},
    status.HTTP_404_NOT_FOUND: {"model": ErrorResponse, "description": "No such job"},
}


@router.post(
    "",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a posts report; poll the Location URL for its result",
    responses={
        status.HTTP_503_SERVICE_UNAVAILABLE: {
            "model": ErrorResponse,
            "description": "Job queue down",
        }
    },
)
async def submit_job(
    data: ReportParams,
    user: CurrentUser,
    conn: Conn,
    celery: CeleryClient,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    # Row first, message second: the worker can always find the job its message names. If the
    # broker is down the row is marked failed, so nothing is left queued that never will run.
    job = await service.create_job(conn, user["id"], "posts_report", data.model_dump())
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    try:
        await queue.enqueue(celery, queue.RUN_POSTS_REPORT, str(job["id"]), request_id)
    except queue.QueueUnavailableError as exc:
        await service.fail_job(
            conn, job["id"], "could not be queued: the job queue was unavailable"
        )
        logger.error("job_not_queued", job_id=str(job["id"]), error=str(exc))
        raise JobQueueUnavailableError from exc
    # This router's own lookup, made absolute as `request.url_for` would: the app-wide
    # `request.url_for` searches every route of every router, about eight times the CPU.
    location = router.url_path_for("read_job", job_id=str(job["id"]))
    response.headers["Location"] = str(location.make_absolute_url(request.base_url))
    return dict(job)


@router.get("", response_model=JobPage, summary="The caller's jobs, newest first")
async def list_jobs(
    user: CurrentUser,
    conn: Conn,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    items = await service.list_jobs(conn, user["id"], limit, offset)
    total = await service.count_jobs(conn, user["id"])
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/{job_id}",
    response_model=JobOut,
    summary="A job's status, and its result when done",
    responses=OWNED,
)
async def read_job(job: OwnedJob) -> dict[str, Any]:
    return dict(job)
