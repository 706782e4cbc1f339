"""The Celery app factory, shared by the API, which publishes task messages, and the worker.

The worker's process runtime (signals, its event loop and pool, CPU priority, task counters)
lives in `{{ cookiecutter.project_slug }}.worker`, which the API never imports.
"""

from typing import Annotated

from celery import Celery
from fastapi import Depends, Request

from {{ cookiecutter.project_slug }}.core.settings import Settings

TASK_TIME_LIMIT_S = 15 * 60
TASK_SOFT_TIME_LIMIT_S = TASK_TIME_LIMIT_S - 60


def create_celery(settings: Settings) -> Celery:
    """The Celery app; the API only publishes with it, the worker runs its tasks."""
    celery = Celery("{{ cookiecutter.project_slug }}", broker=str(settings.celery_broker_url))
    celery.conf.update(
        # Celery lets a CELERY_BROKER_URL environment variable override `broker`; these two win
        # over it, so the broker is always the one these settings name.
        broker_read_url=str(settings.celery_broker_url),
        broker_write_url=str(settings.celery_broker_url),
        # Every module that defines tasks: the worker imports these, the API none of them.
        include=[
            "{{ cookiecutter.project_slug }}.jobs.tasks",
{%- if cookiecutter.include_examples == 'y' %}
            "{{ cookiecutter.project_slug }}.posts.tasks",
{%- endif %}
        ],
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        # Results live in Postgres (the jobs table), not in a Celery result backend.
        task_ignore_result=True,
        # A job survives a worker crash: the message is acknowledged only after the task ends,
        # and a task whose worker died is put back on the queue.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Long jobs: take one message at a time so a busy worker does not hoard others.
        worker_prefetch_multiplier=1,
        task_time_limit=TASK_TIME_LIMIT_S,
        task_soft_time_limit=TASK_SOFT_TIME_LIMIT_S,
        task_default_queue=settings.celery_queue,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.celery_broker_timeout,
        # Publishing gives up quickly when the broker is down; the API then answers 503.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
{%- if cookiecutter.celery_broker == 'redis' %}
        # With Redis, an unacknowledged message (its worker died) is delivered again once it is
        # `visibility_timeout` seconds old (keep that above the longest task). Workers look for
        # such messages every 10 s; kombu's default looks only every tenth time (100 s).
        broker_transport_options={
            "visibility_timeout": settings.celery_visibility_timeout,
            "unacked_restore_interval": 10,
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": settings.celery_broker_timeout,
            "socket_timeout": settings.celery_broker_timeout,
        },
{%- endif %}
        # Logging is configured by the service (structlog), not by Celery.
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    return celery


async def get_celery(request: Request) -> Celery:
    celery: Celery = request.app.state.celery
    return celery


CeleryClient = Annotated[Celery, Depends(get_celery)]
