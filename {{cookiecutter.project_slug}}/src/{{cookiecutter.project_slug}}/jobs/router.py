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
from {{ cookiecutter.project_slug }}.jobs.export import EXPORT_TASK
from {{ cookiecutter.project_slug }}.jobs.schemas import AccountExportParams, JobOut, JobSummary

router = APIRouter(
    prefix="/jobs", tags=["jobs"], responses=error_responses(status.HTTP_401_UNAUTHORIZED)
)


# What every route that starts a job documents.
SUBMIT_RESPONSES = error_responses(
    status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE
)
SUBMIT_DESCRIPTION = (
    "Answers 202 with the queued job; poll the Location URL for its result. At most "
    "JOBS_MAX_ACTIVE_PER_USER of a user's jobs may be queued or running at once."
)


@router.post(
    "/account-export",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start an export of the caller's account data",
    description=f"{SUBMIT_DESCRIPTION} The result holds the account, `auditEventCount` and "
    "`auditEvents` (newest first).",
    responses=SUBMIT_RESPONSES,
)
async def export_account(
    data: AccountExportParams,
    user: CurrentUser,
    conn: Conn,
    celery: CeleryClient,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    job = await service.submit_job(
        conn,
        celery,
        user["id"],
        "account_export",
        EXPORT_TASK,
        data.model_dump(by_alias=True),
        settings.jobs_max_active_per_user,
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
