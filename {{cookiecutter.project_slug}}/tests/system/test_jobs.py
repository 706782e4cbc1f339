"""Jobs end to end: the API queues, a real worker process runs, the client polls (S3/S5).

The account export is the job every render with a worker has; the machinery's failure paths use
the tests' own tasks (tests/helpers/job_tasks.py), so they do not depend on any domain's job.
"""

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.celery import create_celery
from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.jobs.export import EXPORT_JOB

from tests.helpers.apps import ClientFactory
from tests.helpers.job_tasks import ALLOCATE_TASK, FAIL_TASK, SLEEP_TASK
from tests.helpers.jobs import EXPORT_PATH, finished_job, submit, submit_test_job
from tests.helpers.polling import eventually
from tests.helpers.proxy import TcpProxy
from tests.helpers.users import UserFactory
from tests.helpers.workers import WorkerProcess, start_worker


async def test_job_runs_in_a_real_worker_and_the_client_polls_the_result(
    client: httpx.AsyncClient, make_user: UserFactory, worker: WorkerProcess
) -> None:
    user = await make_user()
    response = await submit(client, user)
    queued = response.json()
    assert queued["status"] == "queued"
    assert queued["kind"] == "jobs.account_export"
    assert queued["params"] == {"maxAuditEvents": 1000}
    assert response.headers["location"] == f"{client.base_url}/jobs/{queued['id']}"
    assert (await client.get(response.headers["location"], headers=user.headers)).status_code == 200

    job = await finished_job(client, user, queued["id"])
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1
    assert job["result"]["account"]["email"] == user.email
    assert job["result"]["account"]["id"] == user.id
    assert job["result"]["auditEventCount"] == 1
    assert [event["event"] for event in job["result"]["auditEvents"]] == ["user.signed_up"]
    assert job["finishedAt"] >= job["startedAt"] >= job["createdAt"]

    # The API's request id travels in the message and is on the worker's log lines. The worker
    # stores the result first and logs after it, so the line may still be on its way.
    def succeeded_lines() -> list[dict[str, Any]]:
        return [
            e
            for e in worker.log_events()
            if e.get("event") == "job_succeeded" and e.get("job_id") == queued["id"]
        ]

    async def logged() -> bool:
        return bool(succeeded_lines())

    await eventually(logged)
    assert [e["request_id"] for e in succeeded_lines()] == [response.headers["x-request-id"]]

    # The list carries no results: a page of jobs stays small however big each result is.
    listed = (await client.get("/jobs", headers=user.headers)).json()
    assert [item["id"] for item in listed["items"]] == [queued["id"]]
    assert "result" not in listed["items"][0]


async def test_export_keeps_the_newest_events_and_counts_all(
    client: httpx.AsyncClient, make_user: UserFactory, worker: WorkerProcess, database_url: str
) -> None:
    user = await make_user()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """INSERT INTO audit_events (user_id, event, data)
            SELECT $1, 'test.event', jsonb_build_object('n', n) FROM generate_series(1, 30) n""",
            UUID(user.id),
        )
    finally:
        await conn.close()
    queued = (await submit(client, user, maxAuditEvents=3)).json()
    job = await finished_job(client, user, queued["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["auditEventCount"] == 31
    assert [event["data"] for event in job["result"]["auditEvents"]] == [
        {"n": 30},
        {"n": 29},
        {"n": 28},
    ]


async def test_job_that_cannot_succeed_fails_with_a_readable_error(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings, worker: WorkerProcess
) -> None:
    user = await make_user()
    job_id = await submit_test_job(settings, user.id, FAIL_TASK, {"message": "nothing to do"})
    job = await finished_job(client, user, job_id)
    assert job["status"] == "failed"
    assert job["error"] == "nothing to do"
    assert job["attempts"] == 1
    assert job["result"] is None


async def test_unreachable_database_is_retried_until_it_returns(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    user = await make_user()
    target = urlsplit(database_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    port = await proxy.start()
    proxied_url = database_url.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{port}", 1)
    worker = start_worker(settings, tmp_path / "worker.log", DATABASE_URL=proxied_url)
    try:
        queued = (await submit(client, user)).json()

        async def attempted() -> bool:
            return proxy.dropped >= 2  # failed, waited, retried, failed again

        await eventually(attempted, 60)
        proxy.open = True  # the database "comes back"
        job = await finished_job(client, user, queued["id"])
    finally:
        worker.stop()
        await proxy.stop()
    assert job["status"] == "succeeded", job
    assert job["result"]["account"]["email"] == user.email
    retries = [e for e in worker.log_events() if e.get("event") == "job_retrying"]
    assert len(retries) >= 2


async def succeeded_events(database_url: str, job_id: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM audit_events WHERE event = 'job.succeeded' AND data->>'job_id' = $1",
            job_id,
        )
    finally:
        await conn.close()
    return count


async def test_job_survives_a_killed_worker_and_completes_exactly_once(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    user = await make_user()
    first = start_worker(settings, tmp_path / "first.log", CELERY_VISIBILITY_TIMEOUT="5")
    job_id = await submit_test_job(settings, user.id, SLEEP_TASK, {"seconds": 3})

    async def running() -> bool:
        job = (await client.get(f"/jobs/{job_id}", headers=user.headers)).json()
        return bool(job["status"] == "running")

    try:
        await eventually(running, 60)
    finally:
        first.kill()
    second = start_worker(settings, tmp_path / "second.log", CELERY_VISIBILITY_TIMEOUT="5")
    try:
        job = await finished_job(client, user, job_id, timeout_s=120)
    finally:
        second.stop()
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2  # started, killed, redelivered, finished
    assert job["result"] == {"slept": 3}
    assert await succeeded_events(database_url, job_id) == 1


async def test_broker_down_is_503_and_the_job_is_marked_failed(
    settings: Settings, client_for: ClientFactory, closed_port: int, make_user: UserFactory
) -> None:
    user = await make_user()
    broker = str(settings.celery_broker_url)
    down = broker.replace(f":{urlsplit(broker).port}", f":{closed_port}", 1)
    async with client_for(
        settings.model_copy(update={"celery_broker_url": type(settings.celery_broker_url)(down)})
    ) as client:
        response = await client.post(EXPORT_PATH, json={}, headers=user.headers)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
        jobs = (await client.get("/jobs", headers=user.headers)).json()
    assert jobs["total"] == 1
    [job] = jobs["items"]
    assert job["status"] == "failed"
    assert job["error"] == "could not be queued: the job queue was unavailable"


async def test_other_users_cannot_see_a_job(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    queued = (await submit(client, alice)).json()
    refused = await client.get(f"/jobs/{queued['id']}", headers=bob.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_job_owner"
    unknown = await client.get(f"/jobs/{uuid4()}", headers=bob.headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "job_not_found"
    assert (await client.get("/jobs", headers=bob.headers)).json()["total"] == 0
    assert (await client.get("/jobs", headers=alice.headers)).json()["total"] == 1


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"maxAuditEvents": 0}, ["body", "maxAuditEvents"]),
        ({"maxAuditEvents": 10_001}, ["body", "maxAuditEvents"]),
        ({"maxAuditEvents": True}, ["body", "maxAuditEvents"]),
        ({"kind": "something"}, ["body", "kind"]),
    ],
)
async def test_invalid_job_parameters_are_422_and_queue_nothing(
    client: httpx.AsyncClient, make_user: UserFactory, params: dict[str, Any], loc: list[str]
) -> None:
    user = await make_user()
    response = await client.post(EXPORT_PATH, json=params, headers=user.headers)
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["error"]["details"]] == [loc]
    assert (await client.get("/jobs", headers=user.headers)).json()["total"] == 0


async def test_a_user_may_have_only_so_many_jobs_queued_or_running(
    settings: Settings, client_for: ClientFactory, make_user: UserFactory
) -> None:
    busy, other = await make_user(), await make_user()
    two = settings.model_copy(update={"jobs_max_active_per_user": 2})
    async with client_for(two) as client:  # no worker: the jobs stay queued
        first, second, third = [
            await client.post(EXPORT_PATH, json={}, headers=busy.headers) for _ in range(3)
        ]
        others = await client.post(EXPORT_PATH, json={}, headers=other.headers)
        listed = await client.get("/jobs", headers=busy.headers)
    assert [r.status_code for r in (first, second, third, others)] == [202, 202, 429, 202]
    error = third.json()["error"]
    assert error["code"] == "too_many_active_jobs"
    assert "2 jobs queued or running" in error["message"]
    assert listed.json()["total"] == 2  # the refused one left no row


async def test_concurrent_submissions_cannot_pass_the_limit_together(
    settings: Settings, client_for: ClientFactory, make_user: UserFactory
) -> None:
    user = await make_user()
    two = settings.model_copy(update={"jobs_max_active_per_user": 2})
    async with client_for(two) as client:
        responses = await asyncio.gather(
            *[client.post(EXPORT_PATH, json={}, headers=user.headers) for _ in range(8)]
        )
        listed = await client.get("/jobs", headers=user.headers)
    assert sorted(r.status_code for r in responses) == [202, 202] + [429] * 6
    assert listed.json()["total"] == 2


async def test_a_job_whose_worker_keeps_dying_is_failed_after_its_attempts(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings, worker: WorkerProcess
) -> None:
    # A job whose worker died while running it, JOB_MAX_ATTEMPTS times over, comes back once
    # more: it is failed with a readable reason instead of being run again forever.
    user = await make_user()
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        job_id = await conn.fetchval(
            """INSERT INTO jobs (owner_id, kind, params, status, attempts, started_at)
            VALUES ($1, 'jobs.account_export', $2::jsonb, 'running', $3, now()) RETURNING id::text""",
            UUID(user.id),
            json.dumps({"maxAuditEvents": 10}),
            settings.job_max_attempts,
        )
    finally:
        await conn.close()
    celery = create_celery(settings)
    try:
        await asyncio.to_thread(celery.send_task, EXPORT_JOB, args=[job_id])
    finally:
        await asyncio.to_thread(celery.close)
    job = await finished_job(client, user, job_id)
    assert job["status"] == "failed"
    assert job["error"] == (
        f"gave up after {settings.job_max_attempts} attempts: the worker stopped each time"
    )


async def test_a_job_that_needs_too_much_memory_fails_readably(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings, tmp_path: Path
) -> None:
    user = await make_user()
    worker = start_worker(
        settings, tmp_path / "worker.log", pool="prefork", WORKER_MEMORY_LIMIT_MB="200"
    )
    try:
        job_id = await submit_test_job(settings, user.id, ALLOCATE_TASK, {"megabytes": 400})
        job = await finished_job(client, user, job_id, timeout_s=120)
        # The worker process is still serving: the next job runs.
        small = await submit_test_job(settings, user.id, ALLOCATE_TASK, {"megabytes": 1})
        after = await finished_job(client, user, small, timeout_s=120)
    finally:
        worker.stop()
    assert job["status"] == "failed", job
    assert job["error"] == "the job needed more memory than a worker may use"
    assert after["status"] == "succeeded", after
