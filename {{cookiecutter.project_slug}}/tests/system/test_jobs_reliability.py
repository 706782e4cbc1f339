"""Jobs under faults: the broker cut while the API runs, workers killed or restarted while jobs
are queued and running. Every accepted job ends `succeeded`, and its result is stored once.

Real worker processes (tests/helpers/workers.py) and a broker reached through tests/helpers/proxy.py, so the
shared broker is never stopped.
"""

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from {{ cookiecutter.project_slug }}.core.celery import create_celery
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import ClientFactory
from tests.helpers.job_tasks import SLEEP_TASK
from tests.helpers.jobs import EXPORT_PATH, finished_job, submit, submit_test_job
from tests.helpers.polling import eventually
from tests.helpers.proxy import TcpProxy
from tests.helpers.users import SignedUpUser, UserFactory
from tests.helpers.workers import WorkerProcess, start_worker

NOT_QUEUED = "could not be queued: the job queue was unavailable"
# A job that runs long enough for a test to act while it runs; an account export is instant.
SLOW_JOB = {"seconds": 1}
# With Redis, a message whose worker died is delivered again once it is this old.
VISIBILITY_TIMEOUT_S = "5"


def publish_deadline(settings: Settings) -> float:
    """The longest submission may take with the broker down: each publish attempt may wait
    for a connection (CELERY_BROKER_TIMEOUT) and the retry policy's pause between attempts."""
    policy = create_celery(settings).conf.task_publish_retry_policy
    attempts: int = policy["max_retries"] + 1
    pause: float = policy["interval_max"]
    return attempts * (settings.celery_broker_timeout + pause)


async def job_rows(database_url: str) -> dict[str, dict[str, Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT j.id::text AS id, j.status, j.attempts, j.error,
                (SELECT count(*) FROM audit_events a
                 WHERE a.event = 'job.succeeded' AND a.data->>'job_id' = j.id::text) AS results
            FROM jobs j"""
        )
    finally:
        await conn.close()
    return {row["id"]: dict(row) for row in rows}


async def status_of(client: httpx.AsyncClient, user: SignedUpUser, job_id: str) -> str:
    job = (await client.get(f"/jobs/{job_id}", headers=user.headers)).json()
    return str(job["status"])


async def test_broker_cut_while_the_api_runs_is_503_loses_nothing_and_recovers(
    settings: Settings,
    client_for: ClientFactory,
    make_user: UserFactory,
    worker: WorkerProcess,
    database_url: str,
) -> None:
    proxy, url = await TcpProxy.to(str(settings.celery_broker_url))
    broker_url = type(settings.celery_broker_url)(url)
    api_settings = settings.model_copy(update={"celery_broker_url": broker_url})
    user = await make_user()
    try:
        async with client_for(api_settings) as client:
            before = (await submit(client, user)).json()
            proxy.cut()  # the API's broker connection is reset, new ones are refused
            async with asyncio.timeout(publish_deadline(api_settings)):
                refused = await client.post(EXPORT_PATH, json={}, headers=user.headers)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "service_unavailable"

            proxy.open = True  # the broker is back; the API is not restarted
            after = (await submit(client, user)).json()
            done = [await finished_job(client, user, job["id"]) for job in (before, after)]
    finally:
        await proxy.stop()
    assert [job["status"] for job in done] == ["succeeded", "succeeded"]
    rows = await job_rows(database_url)
    [refused_id] = set(rows) - {before["id"], after["id"]}  # three rows, one per request
    refused_row = rows[refused_id]
    # The refused job is recorded as failed and was never run; the others ran once.
    assert refused_row["status"] == "failed"
    assert refused_row["error"] == NOT_QUEUED
    assert refused_row["attempts"] == 0
    assert [rows[job["id"]]["results"] for job in (before, after)] == [1, 1]


async def test_sigterm_lets_the_running_job_finish_before_the_worker_exits(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    user = await make_user()
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        job_id = await submit_test_job(settings, user.id, SLEEP_TASK, SLOW_JOB)

        async def running() -> bool:
            return await status_of(client, user, job_id) == "running"

        await eventually(running, 60)
        worker.stop()  # SIGTERM: warm shutdown
    finally:
        worker.stop()
    assert worker.process.returncode == 0
    # The job was finished by the worker that was told to stop, before it exited.
    assert await status_of(client, user, job_id) == "succeeded"
    row = (await job_rows(database_url))[job_id]
    assert (row["attempts"], row["results"]) == (1, 1)
    assert [e["job_id"] for e in worker.log_events() if e.get("event") == "job_succeeded"] == [
        job_id
    ]


async def test_jobs_complete_exactly_once_across_a_killed_and_a_restarted_worker(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    quick, slow = await make_user(), await make_user()
    submitted: list[str] = []

    async def submit_jobs(user: SignedUpUser, count: int) -> str:
        for _ in range(count):
            if user is slow:
                submitted.append(await submit_test_job(settings, user.id, SLEEP_TASK, SLOW_JOB))
            else:
                submitted.append((await submit(client, user)).json()["id"])
        return submitted[-1]

    def start(name: str) -> WorkerProcess:
        log = tmp_path / f"{name}.log"
        return start_worker(settings, log, CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT_S)

    def running(user: SignedUpUser, job_id: str) -> Any:
        async def check() -> bool:
            return await status_of(client, user, job_id) == "running"

        return check

    workers = [start("first")]
    try:
        await submit_jobs(quick, 50)
        killed = await submit_jobs(slow, 1)
        # Keep submitting while watching for the slow job to start, so the kill lands in it.
        more = asyncio.create_task(submit_jobs(quick, 50))
        await eventually(running(slow, killed), 60)
        workers[0].kill()  # kill -9 in the middle of a job: no acknowledgement, no clean-up
        await more
        await submit_jobs(quick, 30)  # queued while no worker runs

        workers.append(start("second"))
        restarted = await submit_jobs(slow, 1)
        more = asyncio.create_task(submit_jobs(quick, 40))
        await eventually(running(slow, restarted), 60)
        workers[1].stop()  # warm restart: SIGTERM, the job in hand is finished first
        await more
        workers.append(start("third"))
        await submit_jobs(quick, 30)

        async def all_finished() -> bool:
            rows = await job_rows(database_url)
            return all(rows[job_id]["status"] in ("succeeded", "failed") for job_id in submitted)

        await eventually(all_finished, 120)
    finally:
        for worker in workers:
            worker.stop()

    assert len(submitted) == len(set(submitted)) >= 200
    assert workers[1].process.returncode == 0
    rows = await job_rows(database_url)
    assert {rows[job_id]["status"] for job_id in submitted} == {"succeeded"}
    # Each result was stored exactly once, and only the job the kill interrupted ran twice.
    assert {job_id: rows[job_id]["results"] for job_id in submitted} == dict.fromkeys(submitted, 1)
    attempts = {job_id: rows[job_id]["attempts"] for job_id in submitted}
    assert attempts == {**dict.fromkeys(submitted, 1), killed: 2}
    # The workers' own logs agree: one success per job, across all three processes.
    succeeded = [
        event["job_id"]
        for worker in workers
        for event in worker.log_events()
        if event.get("event") == "job_succeeded"
    ]
    assert sorted(succeeded) == sorted(submitted)
