"""The Celery worker's entry point and process runtime: `celery -A {{ cookiecutter.project_slug }}.worker worker`.

Celery looks up this module's `app` attribute; it is built on first access, so importing the
module reads no configuration and opens no connection. The API never imports this module: it
publishes through the app from `core.celery`.

Each worker process gets one event loop and one asyncpg pool, created on the first task it runs
(after the fork, never in the parent) and closed when the process exits. Tasks borrow
connections from that pool; none opens its own.
"""

import asyncio
import os
import resource
from collections.abc import Coroutine
from functools import cache
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
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from {{ cookiecutter.project_slug }}.core import database, worker_metrics
from {{ cookiecutter.project_slug }}.core.celery import create_celery
from {{ cookiecutter.project_slug }}.core.logging import REQUEST_ID, configure_logging
from {{ cookiecutter.project_slug }}.core.sentry import init_sentry
from {{ cookiecutter.project_slug }}.core.settings import Settings

T = TypeVar("T")

WORKER_POOL_MAX_SIZE = 2  # tasks in one process run one at a time


@cache
def worker_settings() -> Settings:
    """The worker's Settings, built once: pool children inherit them from the main process."""
    return Settings()


class WorkerResources:
    """The event loop and asyncpg pool of one worker process."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        # min_size=0: opening the pool connects nowhere, so an unreachable database is a
        # (retried) task failure, not a worker that cannot start.
        self.pool: asyncpg.Pool = self.run(
            database.create_pool(settings, min_size=0, max_size=WORKER_POOL_MAX_SIZE)
        )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        # This loop belongs to the worker process and runs only while a task waits on it.
        return self.loop.run_until_complete(coroutine)  # rule-guard: ignore[S12]

    def close(self) -> None:
        self.run(self.pool.close())
        self.loop.close()


_resources: WorkerResources | None = None


def worker_resources() -> WorkerResources:
    global _resources  # one per process, created lazily after the fork
    if _resources is None:
        _resources = WorkerResources(worker_settings())
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
    """Worker processes log through the same structlog configuration as the API."""
    configure_logging(worker_settings())


@worker_init.connect
def _prepare_main_process(**_: Any) -> None:
    """In the main process, before the pool starts (children inherit the priority): a lower CPU
    priority, Sentry, and the task counters if enabled."""
    settings = worker_settings()
    # A worker that shares cores with the API yields them to its event loop.
    os.nice(settings.background_niceness)
    init_sentry(settings, version("{{ cookiecutter.project_slug }}"))
    if settings.worker_metrics_port:
        worker_metrics.start(settings.worker_metrics_port)


@worker_process_init.connect
def _limit_memory(**_: Any) -> None:
    """In each pool process: a task that needs more memory than WORKER_MEMORY_LIMIT_MB gets a
    MemoryError (an ordinary task failure) instead of taking the machine's memory."""
    limit = worker_settings().worker_memory_limit_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


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
        **{REQUEST_ID: getattr(task.request, REQUEST_ID, None)}, task=task.name, task_id=task_id
    )


@task_postrun.connect
def _unbind_request_id(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


def __getattr__(name: str) -> Any:
    if name == "app":
        app: Celery = create_celery(worker_settings())
        globals()["app"] = app
        return app
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
