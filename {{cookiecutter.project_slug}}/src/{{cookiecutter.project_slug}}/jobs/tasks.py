"""Running a job in the worker (`run_job`), and the jobs domain's own task, the account export.

A domain with a job of its own defines its task in a module of its own with `run_job` and
`JOB_TASK_OPTIONS`, as `export_account` below does, names the task after the job's kind, and
adds that module to `include` in `core/celery.py`. Tasks run in worker processes, never in the
API.
"""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.core import database
from {{ cookiecutter.project_slug }}.jobs import service
from {{ cookiecutter.project_slug }}.jobs.exceptions import PermanentJobError
from {{ cookiecutter.project_slug }}.jobs.export import EXPORT_JOB, build_export
from {{ cookiecutter.project_slug }}.jobs.schemas import AccountExportParams
from {{ cookiecutter.project_slug }}.jobs.service import JobRecord
from {{ cookiecutter.project_slug }}.worker import worker_resources, worker_settings

logger = structlog.get_logger(__name__)

# Failures worth another try: PostgreSQL unreachable, restarting or out of connections. Errors of
# the task's own (bad data, a cancelled query) would fail again, so they are not retried.
TRANSIENT_ERRORS = database.UNREACHABLE
MAX_RETRIES = 5


class TransientJobError(Exception):
    pass


def readable_error(exc: BaseException) -> str:
    """What the client is told about a failure: never the text of a database or driver error."""
    if isinstance(exc, TransientJobError):
        return "the database was unavailable"
    if isinstance(exc, SoftTimeLimitExceeded | TimeLimitExceeded):
        return "the job took longer than its time limit"
    if isinstance(exc, MemoryError):
        return "the job needed more memory than a worker may use"
    return "the job failed unexpectedly"


class JobTask(Task):  # type: ignore[type-arg]
    """Marks the job failed when Celery gives up on it (retries exhausted, time limit hit)."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        error = f"gave up after {self.request.retries + 1} attempts: {readable_error(exc)}"
        try:
            worker_resources().run(_mark_failed(UUID(args[0]), error))
        except Exception:
            logger.exception("job_fail_not_recorded", job_id=args[0])


async def _mark_failed(job_id: UUID, error: str) -> None:
    async with worker_resources().pool.acquire() as conn:
        await service.fail_job(conn, job_id, error)


# A job's work: given the worker's pool and the claimed job, the result to store (plain JSON).
# It takes a connection only while it queries, so none is held through long CPU work.
# PermanentJobError fails the job with its message; the database's errors are retried.
JobWork = Callable[[asyncpg.Pool, JobRecord], Awaitable[dict[str, Any]]]

_LOG_EVENTS = {
    "skipped": "job_skipped",
    "failed": "job_failed",
    "succeeded": "job_succeeded",
    "already_stored": "job_result_already_stored",
}


async def _run(job_id: UUID, work: JobWork) -> str:
    """Claim the job, do its work and store the result; what happened, as a word for the log."""
    settings = worker_settings()
    pool = worker_resources().pool
    async with pool.acquire() as conn:
        job = await service.claim_job(conn, job_id)
        if job is None:
            return "skipped"
        if job["attempts"] > settings.job_max_attempts:
            # Each earlier run ended with its worker gone (killed, out of memory): stop here.
            error = (
                f"gave up after {settings.job_max_attempts} attempts: the worker stopped each time"
            )
            await service.fail_job(conn, job_id, error)
            return "failed"
    try:
        result = await work(pool, job)
    except PermanentJobError as exc:
        await _mark_failed(job_id, str(exc))
        return "failed"
    except MemoryError:
        await _mark_failed(job_id, readable_error(MemoryError()))
        return "failed"
    async with pool.acquire() as conn, conn.transaction():
        if not await service.finish_job(conn, job_id, result):
            return "already_stored"
        await audit_service.record_event(
            conn, job["owner_id"], "job.succeeded", {"job_id": str(job_id), "kind": job["kind"]}
        )
    return "succeeded"


def run_job(task: JobTask, job_id: str, work: JobWork) -> str:
    """The body of every job task. Idempotent by job id: a finished job is skipped, and its
    result is written only once."""
    try:
        outcome = worker_resources().run(_run(UUID(job_id), work))
    except TRANSIENT_ERRORS as exc:
        logger.warning(
            "job_retrying", job_id=job_id, attempt=task.request.retries + 1, error=repr(exc)
        )
        raise TransientJobError(repr(exc)) from exc
    logger.info(_LOG_EVENTS[outcome], job_id=job_id)
    return "succeeded" if outcome == "already_stored" else outcome


# What every job task passes to `shared_task`, besides its name.
JOB_TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "base": JobTask,
    "autoretry_for": (TransientJobError,),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": False,
    "max_retries": MAX_RETRIES,
}


async def _export(pool: asyncpg.Pool, job: JobRecord) -> dict[str, Any]:
    params = AccountExportParams.model_validate(job["params"])
    async with pool.acquire() as conn:
        return await build_export(conn, job["owner_id"], params)


@shared_task(name=EXPORT_JOB, **JOB_TASK_OPTIONS)
def export_account(self: JobTask, job_id: str) -> str:
    return run_job(self, job_id, _export)
