"""The posts report's Celery task; it runs in the worker, never in the API."""

from typing import Any

import asyncpg
from celery import shared_task

from {{ cookiecutter.project_slug }}.jobs.service import JobRecord
from {{ cookiecutter.project_slug }}.jobs.tasks import JOB_TASK_OPTIONS, JobTask, run_job
from {{ cookiecutter.project_slug }}.posts import service
from {{ cookiecutter.project_slug }}.posts.report import REPORT_JOB, PostText, build_report
from {{ cookiecutter.project_slug }}.posts.schemas import ReportParams, ReportResult


async def _report(pool: asyncpg.Pool, job: JobRecord) -> dict[str, Any]:
    params = ReportParams.model_validate(job["params"])
    async with pool.acquire() as conn:
        # One more than allowed is enough to refuse the report: the rest is never loaded.
        rows = await service.fetch_post_texts(conn, job["owner_id"], params.max_posts + 1)
    posts = [PostText(id=p["id"], title=p["title"], body=p["body"]) for p in rows]
    # Plain CPU work: the worker process exists for it, and holds no connection meanwhile.
    report = build_report(posts, params.max_posts, params.similarity_threshold, params.max_pairs)
    return ReportResult.model_validate(report).model_dump(mode="json", by_alias=True)


@shared_task(name=REPORT_JOB, **JOB_TASK_OPTIONS)
def run_report(self: JobTask, job_id: str) -> str:
    return run_job(self, job_id, _report)
