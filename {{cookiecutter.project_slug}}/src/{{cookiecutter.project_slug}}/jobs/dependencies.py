"""Who may see a job: the user who submitted it (S10)."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.core.database import Conn
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
