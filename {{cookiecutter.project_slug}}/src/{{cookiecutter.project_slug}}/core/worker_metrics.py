"""Task counters for Prometheus, served over HTTP by the worker's main process.

Tasks run in the pool's child processes (prefork, Celery's default), while the endpoint runs in
the main process, so counts must be added up across processes. prometheus_client's
multiprocess mode does this: every process writes its counters to files in one directory, and
the endpoint sums the files when it is scraped. A process that exits leaves its file behind,
so its counts are kept.

The library picks that mode when it is first imported, from the PROMETHEUS_MULTIPROC_DIR
environment variable. So `start` sets the variable to a fresh directory of the worker's own
before importing the library, and children inherit both when they are forked.
"""

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from celery import Task
from celery.signals import task_failure, task_retry, task_success

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import Counter

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

logger = structlog.get_logger(__name__)


@dataclass
class TaskCounters:
    succeeded: "Counter"
    failed: "Counter"
    retried: "Counter"


@dataclass
class _Exporter:
    directory: str
    counters: TaskCounters
    port: int
    server: "WSGIServer | None" = None


_exporter: _Exporter | None = None


def start(port: int) -> None:
    """Switch the process to multiprocess mode and create the counters (before the pool forks)."""
    global _exporter  # one per worker process tree
    if "prometheus_client" in sys.modules:
        msg = (
            "prometheus_client was imported before the worker enabled its multiprocess mode, "
            "so task counts from pool processes would be lost; do not import it (or the API's "
            "metrics module) from task modules"
        )
        raise RuntimeError(msg)
    directory = tempfile.mkdtemp(prefix="worker-metrics-")
    # The library reads this variable itself; it is not a setting of ours.
    os.environ[MULTIPROCESS_DIR_VARIABLE] = directory  # noqa: TID251 - prometheus_client reads its directory from there

    from prometheus_client import Counter  # only now that the variable is set

    def counter(name: str, what: str) -> Counter:
        # registry=None: values go to the directory's files; the endpoint reads them from there.
        return Counter(name, f"Celery tasks that {what}, by task name.", ["task"], registry=None)

    counters = TaskCounters(
        succeeded=counter("celery_tasks_succeeded_total", "returned a result"),
        failed=counter("celery_tasks_failed_total", "raised an error and will not run again"),
        retried=counter("celery_tasks_retried_total", "were scheduled to run again"),
    )
    _exporter = _Exporter(directory, counters, port)


def serve() -> None:
    """Serve the summed counters on the port; the main process calls this once its pool runs."""
    if _exporter is None:
        return
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=_exporter.directory)  # type: ignore[no-untyped-call]
    _exporter.server, _ = start_http_server(_exporter.port, registry=registry)
    logger.info("worker_metrics_serving", port=_exporter.port, directory=_exporter.directory)


def stop() -> None:
    """Stop serving and remove the directory; the pool has stopped by then."""
    global _exporter
    if _exporter is None:
        return
    if _exporter.server is not None:
        _exporter.server.shutdown()
        _exporter.server.server_close()
    shutil.rmtree(_exporter.directory, ignore_errors=True)
    _exporter = None


@task_success.connect
def _count_success(sender: Task, **_: Any) -> None:  # type: ignore[type-arg]
    if _exporter is not None:
        _exporter.counters.succeeded.labels(sender.name).inc()


@task_failure.connect
def _count_failure(sender: Task, **_: Any) -> None:  # type: ignore[type-arg]
    if _exporter is not None:
        _exporter.counters.failed.labels(sender.name).inc()


@task_retry.connect
def _count_retry(sender: Task, **_: Any) -> None:  # type: ignore[type-arg]
    if _exporter is not None:
        _exporter.counters.retried.labels(sender.name).inc()
