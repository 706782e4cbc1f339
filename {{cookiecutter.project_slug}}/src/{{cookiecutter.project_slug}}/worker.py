"""The Celery application: long or heavy work runs in worker processes, not in the API (S3/S5).

Start a worker with `celery -A {{ cookiecutter.project_slug }}.worker worker`. Celery looks up this module's `app`
attribute; it is built on first access from the same `Settings` as the API, so importing the
module reads no configuration and opens no connection.
"""

from typing import Any

from celery import Celery
from celery.signals import setup_logging

from {{ cookiecutter.project_slug }}.config import Settings
from {{ cookiecutter.project_slug }}.logging import configure_logging

TASK_TIME_LIMIT_S = 15 * 60
TASK_SOFT_TIME_LIMIT_S = TASK_TIME_LIMIT_S - 60


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings()
    celery = Celery("{{ cookiecutter.project_slug }}", broker=str(settings.celery_broker_url))
    celery.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        # A job survives a worker crash: the message is acknowledged only after the task ends,
        # and a task whose worker died is put back on the queue.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Long jobs: take one message at a time so a busy worker does not hoard others.
        worker_prefetch_multiplier=1,
        task_time_limit=TASK_TIME_LIMIT_S,
        task_soft_time_limit=TASK_SOFT_TIME_LIMIT_S,
        task_default_queue="{{ cookiecutter.project_slug }}.default",
        broker_connection_retry_on_startup=True,
        # Logging is configured by the service (structlog), not by Celery.
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    return celery


@setup_logging.connect
def _use_service_logging(**_: Any) -> None:
    """Worker processes log through the same structlog configuration as the API (S14)."""
    configure_logging(Settings())


def __getattr__(name: str) -> Any:
    if name == "app":
        app = create_celery()
        globals()["app"] = app
        return app
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
