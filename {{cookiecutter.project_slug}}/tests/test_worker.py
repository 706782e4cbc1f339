"""The Celery app is configured from Settings, and a real worker process answers on the broker."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from uuid import uuid4

import pytest

from {{ cookiecutter.project_slug }}.config import Settings
from {{ cookiecutter.project_slug }}.worker import create_celery

WORKER_START_TIMEOUT_S = 60


def test_celery_takes_its_broker_and_safety_settings_from_settings(base_settings: Settings) -> None:
    celery = create_celery(base_settings)
    assert celery.conf.broker_url == str(base_settings.celery_broker_url)
    assert celery.conf.task_acks_late is True
    assert celery.conf.task_reject_on_worker_lost is True
    assert celery.conf.worker_prefetch_multiplier == 1
    assert celery.conf.accept_content == ["json"]
    assert celery.conf.task_serializer == "json"


@pytest.fixture
def worker_name(base_settings: Settings) -> Iterator[str]:
    """Start a real worker process on the configured broker; stop it afterwards."""
    name = f"test-{uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "CELERY_BROKER_URL": str(base_settings.celery_broker_url),
    }
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "{{ cookiecutter.project_slug }}.worker",
            "worker",
            "--pool",
            "solo",
            "--hostname",
            name,
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
    )
    try:
        yield name
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_worker_process_answers_a_ping_through_the_broker(
    base_settings: Settings, worker_name: str
) -> None:
    celery = create_celery(base_settings)
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    replies: list[dict[str, object]] = []
    while not replies and time.monotonic() < deadline:
        replies = celery.control.ping(destination=[worker_name], timeout=1.0) or []
    assert replies, f"worker {worker_name} did not answer within {WORKER_START_TIMEOUT_S}s"
    assert list(replies[0]) == [worker_name]
