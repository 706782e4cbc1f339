"""Celery tasks of the jobs domain. They run in worker processes, never in the API."""

from typing import Any
from uuid import UUID

import asyncpg
import structlog
from celery import Task, shared_task

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.jobs import service
from {{ cookiecutter.project_slug }}.jobs.queue import RUN_POSTS_REPORT
from {{ cookiecutter.project_slug }}.jobs.report import PermanentJobError, PostText, build_report
from {{ cookiecutter.project_slug }}.worker import worker_resources

logger = structlog.get_logger(__name__)

# Failures worth another try: Postgres unreachable, restarting or out of connections.
TRANSIENT_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.PostgresConnectionError,
)
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


async def _claim(job_id: UUID) -> tuple[service.JobRecord, list[PostText]] | None:
    async with worker_resources().pool.acquire() as conn:
        job = await service.claim_job(conn, job_id)
        if job is None:
            return None
        posts = await service.fetch_post_texts(conn, job["owner_id"])
    return job, [PostText(id=p["id"], title=p["title"], body=p["body"]) for p in posts]


async def _store(job: service.JobRecord, result: dict[str, Any]) -> bool:
    async with worker_resources().pool.acquire() as conn, conn.transaction():
        finished = await service.finish_job(conn, job["id"], result)
        if finished:
            await audit_service.record_event(
                conn, job["owner_id"], "job.succeeded", {"job_id": str(job["id"])}
            )
    return finished


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
    run = worker_resources().run
    try:
        claimed = run(_claim(UUID(job_id)))
        if claimed is None:
            logger.info("job_skipped", job_id=job_id, reason="finished or unknown")
            return "skipped"
        job, posts = claimed
        try:
            # Plain CPU work: this process exists for it, so it runs right here.
            result = build_report(
                posts, job["params"]["max_posts"], job["params"]["similarity_threshold"]
            )
        except PermanentJobError as exc:
            run(_mark_failed(job["id"], str(exc)))
            logger.warning("job_failed", job_id=job_id, error=str(exc))
            return "failed"
        stored = run(_store(job, result))
    except TRANSIENT_ERRORS as exc:
        logger.warning(
            "job_retrying", job_id=job_id, attempt=self.request.retries + 1, error=repr(exc)
        )
        raise TransientJobError(repr(exc)) from exc
    logger.info("job_succeeded" if stored else "job_result_already_stored", job_id=job_id)
    return "succeeded"
