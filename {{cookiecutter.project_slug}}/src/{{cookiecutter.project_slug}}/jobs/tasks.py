"""Celery tasks of the jobs domain. They run in worker processes, never in the API."""

from typing import Any
from uuid import UUID

import structlog
from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.core import database
from {{ cookiecutter.project_slug }}.jobs import service
from {{ cookiecutter.project_slug }}.jobs.queue import RUN_POSTS_REPORT
from {{ cookiecutter.project_slug }}.jobs.report import PermanentJobError, PostText, build_report
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


async def _run_posts_report(job_id: UUID) -> str:
    """Claim the job, build the report and store it; what happened, as a word for the log."""
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
        max_posts = job["params"]["max_posts"]
        # One more than allowed is enough to refuse the report: the rest is never loaded.
        posts = [
            PostText(id=p["id"], title=p["title"], body=p["body"])
            for p in await service.fetch_post_texts(conn, job["owner_id"], max_posts + 1)
        ]
    try:
        # Plain CPU work: this process exists for it, so it runs right here, between queries.
        result = build_report(
            posts, max_posts, job["params"]["similarity_threshold"], settings.report_max_pairs
        )
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
            conn, job["owner_id"], "job.succeeded", {"job_id": str(job_id)}
        )
    return "succeeded"


@shared_task(
    bind=True,
    base=JobTask,
    name=RUN_POSTS_REPORT,
    autoretry_for=(TransientJobError,),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=False,
    max_retries=MAX_RETRIES,
)
def run_posts_report(self: JobTask, job_id: str) -> str:
    """Idempotent by job id: a finished job is skipped, and its result is written only once."""
    try:
        outcome = worker_resources().run(_run_posts_report(UUID(job_id)))
    except TRANSIENT_ERRORS as exc:
        logger.warning(
            "job_retrying", job_id=job_id, attempt=self.request.retries + 1, error=repr(exc)
        )
        raise TransientJobError(repr(exc)) from exc
    events = {
        "skipped": "job_skipped",
        "failed": "job_failed",
        "succeeded": "job_succeeded",
        "already_stored": "job_result_already_stored",
    }
    logger.info(events[outcome], job_id=job_id)
    return "succeeded" if outcome == "already_stored" else outcome
