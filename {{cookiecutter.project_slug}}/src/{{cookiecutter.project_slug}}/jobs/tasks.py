"""Celery tasks of the jobs domain. They run in worker processes, never in the API."""

from typing import Any
from uuid import UUID

import structlog
from celery import Task, shared_task

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.core import database
from {{ cookiecutter.project_slug }}.jobs import service
from {{ cookiecutter.project_slug }}.jobs.queue import RUN_POSTS_REPORT
from {{ cookiecutter.project_slug }}.jobs.report import PermanentJobError, PostText, build_report
from {{ cookiecutter.project_slug }}.worker import worker_resources

logger = structlog.get_logger(__name__)

# Failures worth another try: PostgreSQL unreachable, restarting, out of connections, or the
# connection lost under the task.
TRANSIENT_ERRORS = (*database.UNREACHABLE, *database.CONNECTION_LOST)
MAX_RETRIES = 5


class TransientJobError(Exception):
    pass


class JobTask(Task):  # type: ignore[type-arg]
    """Marks the job failed when Celery gives up on it (retries exhausted, time limit hit)."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        error = f"gave up after {self.request.retries + 1} attempts: {exc}"
        try:
            worker_resources().run(_mark_failed(UUID(args[0]), error))
        except Exception:
            logger.exception("job_fail_not_recorded", job_id=args[0])


async def _mark_failed(job_id: UUID, error: str) -> None:
    async with worker_resources().pool.acquire() as conn:
        await service.fail_job(conn, job_id, error)


async def _run_posts_report(job_id: UUID) -> str:
    """Claim the job, build the report and store it; what happened, as a word for the log."""
    pool = worker_resources().pool
    async with pool.acquire() as conn:
        job = await service.claim_job(conn, job_id)
        if job is None:
            return "skipped"
        posts = [
            PostText(id=p["id"], title=p["title"], body=p["body"])
            for p in await service.fetch_post_texts(conn, job["owner_id"])
        ]
    try:
        # Plain CPU work: this process exists for it, so it runs right here, between queries.
        result = build_report(
            posts, job["params"]["max_posts"], job["params"]["similarity_threshold"]
        )
    except PermanentJobError as exc:
        await _mark_failed(job_id, str(exc))
        logger.warning("job_failed", job_id=str(job_id), error=str(exc))
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
    if outcome == "skipped":
        logger.info("job_skipped", job_id=job_id, reason="finished or unknown")
    elif outcome == "succeeded":
        logger.info("job_succeeded", job_id=job_id)
    elif outcome == "already_stored":
        logger.info("job_result_already_stored", job_id=job_id)
    return "succeeded" if outcome == "already_stored" else outcome
