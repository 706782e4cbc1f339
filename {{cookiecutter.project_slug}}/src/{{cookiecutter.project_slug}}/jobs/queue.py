"""Handing jobs to the broker. Used by the API; the worker side is tasks.py."""

import kombu.exceptions
from celery import Celery
from fastapi.concurrency import run_in_threadpool


class QueueUnavailableError(Exception):
    pass


async def enqueue(celery: Celery, task_name: str, job_id: str, request_id: str | None) -> None:
    """Publish one task message; the request id travels in its headers to the worker's logs.

    Publishing is blocking socket I/O (kombu), so it runs in the thread pool.
    """

    def publish() -> None:
        celery.send_task(task_name, args=[job_id], headers={"request_id": request_id}, retry=True)

    try:
        await run_in_threadpool(publish)
    except (kombu.exceptions.OperationalError, OSError) as exc:
        raise QueueUnavailableError(repr(exc)) from exc
