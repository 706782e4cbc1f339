from typing import Any

from fastapi import APIRouter, status

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.pagination import Page, Pagination
from {{ cookiecutter.project_slug }}.jobs import service
from {{ cookiecutter.project_slug }}.jobs.dependencies import (
    SUBMIT_DESCRIPTION,
    SUBMIT_RESPONSES,
    OwnedJob,
    SubmitJob,
)
from {{ cookiecutter.project_slug }}.jobs.export import EXPORT_JOB
from {{ cookiecutter.project_slug }}.jobs.schemas import AccountExportParams, JobOut, JobSummary

router = APIRouter(
    prefix="/jobs", tags=["jobs"], responses=error_responses(status.HTTP_401_UNAUTHORIZED)
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
async def export_account(data: AccountExportParams, submit: SubmitJob) -> dict[str, Any]:
    return await submit(EXPORT_JOB, data.model_dump(by_alias=True))


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
