from typing import Any

from fastapi import APIRouter, Request, Response, status

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.celery import CeleryClient
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.pagination import Page, Pagination
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
from {{ cookiecutter.project_slug }}.jobs import service
from {{ cookiecutter.project_slug }}.jobs.dependencies import OwnedJob
from {{ cookiecutter.project_slug }}.jobs.schemas import JobOut, JobSummary, ReportParams

router = APIRouter(
    prefix="/jobs", tags=["jobs"], responses=error_responses(status.HTTP_401_UNAUTHORIZED)
)


@router.post(
    "",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a posts report; poll the Location URL for its result",
    description="At most JOBS_MAX_ACTIVE_PER_USER of a user's jobs may be queued or running at once.",
    responses=error_responses(
        status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE
    ),
)
async def submit_job(
    data: ReportParams,
    user: CurrentUser,
    conn: Conn,
    celery: CeleryClient,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    job = await service.submit_posts_report(
        conn, celery, user["id"], data.model_dump(), settings.jobs_max_active_per_user
    )
    response.headers["Location"] = str(request.url_for("read_job", job_id=str(job["id"])))
    return dict(job)


@router.get(
    "",
    response_model=Page[JobSummary],
    summary="The caller's jobs, newest first, without their results",
)
async def list_jobs(user: CurrentUser, conn: Conn, page: Pagination) -> dict[str, Any]:
    items = await service.list_jobs(conn, user["id"], page.limit, page.offset)
    total = await service.count_jobs(conn, user["id"])
    return page.page(items, total)


@router.get(
    "/{job_id}",
    response_model=JobOut,
    summary="A job's status, and its result when done",
    responses=error_responses(status.HTTP_403_FORBIDDEN, status.HTTP_404_NOT_FOUND),
)
async def read_job(job: OwnedJob) -> dict[str, Any]:
    return dict(job)
