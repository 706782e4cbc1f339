"""Real Celery worker processes for the job tests (the fault-injecting proxy: tests/helpers/proxy.py)."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from {{ cookiecutter.project_slug }}.core.celery import create_celery
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.servers import json_lines

START_TIMEOUT_S = 60


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, as when a machine dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown: finishes the current task
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_events(self) -> list[dict[str, Any]]:
        return json_lines(self.log_path)


def start_worker(
    settings: Settings, log_path: Path, *, pool: str = "solo", **env_overrides: str
) -> WorkerProcess:
    """Start `celery worker` on the test database and queue; return once it answers a ping.

    `solo` runs tasks in the worker process itself; `prefork` in two child processes.
    """
    name = f"test-{uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,  # noqa: TID251 - the worker process inherits this environment
        "ENVIRONMENT": "test",
        "LOG_FORMAT": "json",
        "DATABASE_URL": str(settings.database_url),
        "CELERY_BROKER_URL": str(settings.celery_broker_url),
        "CELERY_QUEUE": settings.celery_queue,
        **env_overrides,
    }
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "{{ cookiecutter.project_slug }}.worker",
        "worker",
        "--pool",
        pool,
        "--concurrency",
        "2",
        "--hostname",
        name,
        "--queues",
        settings.celery_queue,
        "--without-gossip",
        "--without-mingle",
        "--include",
        "tests.helpers.job_tasks",  # the tests' own job tasks, beside the service's
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    worker = WorkerProcess(name, process, log_path)
    celery = create_celery(settings)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"worker exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
            raise RuntimeError(msg)
        if celery.control.ping(destination=[name], timeout=0.5):
            return worker
    worker.stop()
    msg = f"worker {name} did not answer within {START_TIMEOUT_S}s:\n{log_path.read_text()[-3000:]}"
    raise RuntimeError(msg)
