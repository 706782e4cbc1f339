"""The Celery application: long or heavy work runs in worker processes, not in the API (S3/S5).

Start a worker with `celery -A {{ cookiecutter.project_slug }}.worker worker`. Celery looks up this module's `app`
attribute; it is built on first access from the same `Settings` as the API, so importing the
module reads no configuration and opens no connection.

Worker resources: each worker process gets one event loop and one asyncpg pool, created on the
first task it runs (after the fork, never in the parent) and closed when the process exits. Tasks
borrow connections from that pool; none opens its own.
"""

import asyncio
import os
from collections.abc import Awaitable
from importlib.metadata import version
from typing import Any, TypeVar

import asyncpg
import structlog
from celery import Celery, Task
from celery.signals import (
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from {{ cookiecutter.project_slug }} import worker_metrics
from {{ cookiecutter.project_slug }}.config import Settings
from {{ cookiecutter.project_slug }}.logging import configure_logging
from {{ cookiecutter.project_slug }}.sentry import init_sentry

T = TypeVar("T")

TASK_TIME_LIMIT_S = 15 * 60
TASK_SOFT_TIME_LIMIT_S = TASK_TIME_LIMIT_S - 60
WORKER_POOL_MAX_SIZE = 2  # tasks in one process run one at a time


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    celery = Celery("{{ cookiecutter.project_slug }}", broker=str(settings.celery_broker_url))
    celery.conf.update(
        # Celery lets a CELERY_BROKER_URL environment variable override `broker`; these two win
        # over it, so the broker is always the one these settings name (S13).
        broker_read_url=str(settings.celery_broker_url),
        broker_write_url=str(settings.celery_broker_url),
        include=["{{ cookiecutter.project_slug }}.jobs.tasks"],
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


class WorkerResources:
    """The event loop and asyncpg pool of one worker process."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.pool: asyncpg.Pool = self.run(self._open_pool(settings))

    @staticmethod
    async def _open_pool(settings: Settings) -> asyncpg.Pool:
        # Created inside the loop it will serve. min_size=0: opening the pool connects nowhere,
        # so an unreachable database is a (retried) task failure, not a worker that cannot start.
        return await asyncpg.create_pool(
            str(settings.database_url),
            min_size=0,
            max_size=WORKER_POOL_MAX_SIZE,
            timeout=settings.db_connect_timeout,
            command_timeout=settings.db_command_timeout,
        )

    def run(self, awaitable: Awaitable[T]) -> T:
        # This loop belongs to the worker process and runs only while a task waits on it.
        return self.loop.run_until_complete(awaitable)  # rule-guard: ignore[S12]

    def close(self) -> None:
        self.run(self.pool.close())
        self.loop.close()


_resources: WorkerResources | None = None


def worker_resources() -> WorkerResources:
    global _resources  # one per process, created lazily after the fork
    if _resources is None:
        _resources = WorkerResources(Settings())
    return _resources


@worker_process_shutdown.connect
@worker_shutdown.connect
def _close_resources(**_: Any) -> None:
    global _resources
    if _resources is not None:
        _resources.close()
        _resources = None


@setup_logging.connect
def _use_service_logging(**_: Any) -> None:
    """Worker processes log through the same structlog configuration as the API (S14)."""
    configure_logging(Settings())


@worker_init.connect
def _prepare_main_process(**_: Any) -> None:
    """In the main process, before the pool starts (children inherit the priority): a lower CPU
    priority, Sentry, and the task counters if enabled."""
    settings = Settings()
    # A worker that shares cores with the API yields them to its event loop.
    os.nice(settings.background_niceness)
    init_sentry(settings, version("{{ cookiecutter.project_slug }}"))
    if settings.worker_metrics_port:
        worker_metrics.start(settings.worker_metrics_port)


@worker_ready.connect
def _serve_metrics(**_: Any) -> None:
    worker_metrics.serve()


@worker_shutdown.connect
def _stop_metrics(**_: Any) -> None:
    worker_metrics.stop()


@task_prerun.connect
def _bind_request_id(task: Task, task_id: str, **_: Any) -> None:  # type: ignore[type-arg]
    # The API puts its request id in the message headers; every line the task logs carries it.
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        request_id=getattr(task.request, "request_id", None), task=task.name, task_id=task_id
    )


@task_postrun.connect
def _unbind_request_id(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


def __getattr__(name: str) -> Any:
    if name == "app":
        app = create_celery()
        globals()["app"] = app
        return app
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
