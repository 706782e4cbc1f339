"""Job tasks only the tests define, so the job machinery is tested without any domain's job.

Workers started by tests/helpers/workers.py import this module (`--include`); the API never does,
it publishes these tasks by name.
"""

import asyncio
from typing import Any

import asyncpg
from celery import shared_task

from {{ cookiecutter.project_slug }}.jobs.exceptions import PermanentJobError
from {{ cookiecutter.project_slug }}.jobs.service import JobRecord
from {{ cookiecutter.project_slug }}.jobs.tasks import JOB_TASK_OPTIONS, JobTask, run_job

SLEEP_TASK = "tests.sleep"
FAIL_TASK = "tests.fail"
ALLOCATE_TASK = "tests.allocate"


async def _sleep(_pool: asyncpg.Pool, job: JobRecord) -> dict[str, Any]:
    await asyncio.sleep(job["params"]["seconds"])
    return {"slept": job["params"]["seconds"]}


async def _fail(_pool: asyncpg.Pool, job: JobRecord) -> dict[str, Any]:
    raise PermanentJobError(job["params"]["message"])


async def _allocate(_pool: asyncpg.Pool, job: JobRecord) -> dict[str, Any]:
    chunks = [bytearray(1024 * 1024) for _ in range(job["params"]["megabytes"])]
    return {"allocated": len(chunks)}


@shared_task(name=SLEEP_TASK, **JOB_TASK_OPTIONS)
def sleep(self: JobTask, job_id: str) -> str:
    return run_job(self, job_id, _sleep)


@shared_task(name=FAIL_TASK, **JOB_TASK_OPTIONS)
def fail(self: JobTask, job_id: str) -> str:
    return run_job(self, job_id, _fail)


@shared_task(name=ALLOCATE_TASK, **JOB_TASK_OPTIONS)
def allocate(self: JobTask, job_id: str) -> str:
    return run_job(self, job_id, _allocate)
