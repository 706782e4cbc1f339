"""The worker counts task outcomes for Prometheus, whichever process ran them, and reports
failing tasks to Sentry (a local stand-in, as in tests/api/core/test_sentry.py)."""

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.project_slug }}.core import worker_metrics
from {{ cookiecutter.project_slug }}.core.celery import create_celery
from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.jobs.export import EXPORT_JOB

from tests.helpers.apps import serve
from tests.helpers.jobs import finished_job, submit
from tests.helpers.polling import eventually
from tests.helpers.proxy import TcpProxy
from tests.helpers.sentry import Ingestion
from tests.helpers.users import UserFactory
from tests.helpers.workers import WorkerProcess, start_worker

Counts = dict[tuple[str, str], float]  # (sample name, task name) -> value


@pytest.fixture
def metrics_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def sentry_server() -> AsyncIterator[tuple[Ingestion, str]]:
    ingestion = Ingestion()
    async with serve(ingestion) as url:
        yield ingestion, f"http://public-key@{url.removeprefix('http://')}/42"


@pytest.fixture
def prefork_worker(
    settings: Settings,
    tmp_path: Path,
    metrics_port: int,
    sentry_server: tuple[Ingestion, str],
) -> Iterator[WorkerProcess]:
    # prefork: tasks run in child processes, the endpoint in the main one.
    process = start_worker(
        settings,
        tmp_path / "worker.log",
        pool="prefork",
        WORKER_METRICS_PORT=str(metrics_port),
        SENTRY_DSN=sentry_server[1],
    )
    yield process
    process.stop()


async def task_counts(port: int) -> Counts:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    response.raise_for_status()
    return {
        (s.name, s.labels["task"]): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name.startswith("celery_tasks_") and s.name.endswith("_total")
    }


def writer_pids(directory: str) -> set[int]:
    """The processes that wrote counters: multiprocess mode keeps one file per process id."""
    return {int(f.stem.split("_")[1]) for f in Path(directory).glob("counter_*.db")}


async def counts_once(port: int, expected: Counts) -> Counts:
    """Poll the endpoint until it shows at least `expected`; return what it shows then."""
    seen: Counts = {}

    async def reached() -> bool:
        nonlocal seen
        try:
            seen = await task_counts(port)
        except httpx.TransportError:
            return False  # not serving yet
        return all(seen.get(key, 0) >= value for key, value in expected.items())

    await eventually(reached, 30)
    return seen


async def test_succeeded_and_failed_tasks_are_counted_across_pool_processes(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    settings: Settings,
    prefork_worker: WorkerProcess,
    metrics_port: int,
) -> None:
    user = await make_user()
    jobs = [(await submit(client, user)).json()["id"] for _ in range(3)]
    for job_id in jobs:
        assert (await finished_job(client, user, job_id))["status"] == "succeeded"
    # A message the task cannot process (not a job id) makes the task itself fail.
    create_celery(settings).send_task(
        EXPORT_JOB, args=["not-a-job-id"], queue=settings.celery_queue
    )

    succeeded = ("celery_tasks_succeeded_total", EXPORT_JOB)
    failed = ("celery_tasks_failed_total", EXPORT_JOB)
    counts = await counts_once(metrics_port, {succeeded: 3, failed: 1})

    assert counts == {succeeded: 3, failed: 1}
    # Counted by the child processes (one file each), served by the main process.
    [serving] = [e for e in prefork_worker.log_events() if e["event"] == "worker_metrics_serving"]
    writers = writer_pids(serving["directory"])
    assert writers
    assert prefork_worker.process.pid not in writers


async def test_a_failing_task_is_reported_to_sentry_with_its_task_id(
    settings: Settings,
    prefork_worker: WorkerProcess,
    sentry_server: tuple[Ingestion, str],
) -> None:
    ingestion, _ = sentry_server
    result = create_celery(settings).send_task(
        EXPORT_JOB, args=["not-a-job-id"], queue=settings.celery_queue
    )

    async def reported() -> bool:
        return any(e.get("tags", {}).get("task_id") == result.id for e in ingestion.events())

    await eventually(reported, 30)
    event = next(e for e in ingestion.events() if e["tags"].get("task_id") == result.id)
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert event["environment"] == "test"


async def test_retried_tasks_are_counted(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
    metrics_port: int,
) -> None:
    user = await make_user()
    target = urlsplit(database_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)  # closed: no database
    port = await proxy.start()
    proxied_url = database_url.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{port}", 1)
    worker = start_worker(
        settings,
        tmp_path / "worker.log",
        DATABASE_URL=proxied_url,
        WORKER_METRICS_PORT=str(metrics_port),
    )
    retried = ("celery_tasks_retried_total", EXPORT_JOB)
    try:
        await submit(client, user)
        counts = await counts_once(metrics_port, {retried: 1})
    finally:
        worker.stop()
        await proxy.stop()
    assert counts[retried] >= 1
    assert proxy.dropped >= 1
    assert set(counts) == {retried}  # neither succeeded nor failed (yet)


def test_counters_refuse_to_start_after_prometheus_client_was_imported() -> None:
    # This test process has imported it (the API's metrics module), so counts written by pool
    # processes would be lost: the worker says so instead of serving zeros.
    with pytest.raises(RuntimeError, match="imported before the worker enabled its multiprocess"):
        worker_metrics.start(port=9)
