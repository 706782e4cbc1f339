"""Jobs end to end: the API queues, a real worker process runs, the client polls (S3/S5)."""

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
from {{ cookiecutter.project_slug }}.jobs.queue import RUN_POSTS_REPORT

from tests.helpers.apps import ClientFactory
from tests.helpers.jobs import finished_job, seed_posts, submit
from tests.helpers.polling import eventually
from tests.helpers.posts import write_posts
from tests.helpers.proxy import TcpProxy
from tests.helpers.users import UserFactory
from tests.helpers.workers import WorkerProcess, start_worker

NEAR_DUPLICATE = "the analytical engine weaves algebraic patterns just as the loom weaves flowers"


async def test_job_runs_in_a_real_worker_and_the_client_polls_the_result(
    client: httpx.AsyncClient, make_user: UserFactory, worker: WorkerProcess
) -> None:
    user = await make_user()
    await write_posts(
        client, user, [NEAR_DUPLICATE, NEAR_DUPLICATE + " again", "something else entirely here"]
    )

    response = await submit(client, user, similarityThreshold=0.7)
    queued = response.json()
    assert queued["status"] == "queued"
    assert response.headers["location"] == f"{client.base_url}/jobs/{queued['id']}"
    assert (await client.get(response.headers["location"], headers=user.headers)).status_code == 200

    job = await finished_job(client, user, queued["id"])
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1
    assert job["result"]["postCount"] == 3
    assert len(job["result"]["nearDuplicates"]) == 1
    assert job["result"]["topWords"][0] == {"word": "weaves", "count": 4}
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


async def test_job_that_cannot_succeed_fails_with_a_readable_error(
    client: httpx.AsyncClient, make_user: UserFactory, worker: WorkerProcess
) -> None:
    user = await make_user()
    await write_posts(client, user, ["one", "two", "three"])
    queued = (await submit(client, user, maxPosts=2)).json()
    job = await finished_job(client, user, queued["id"])
    assert job["status"] == "failed"
    assert job["error"] == "there are more than 2 posts, this report's limit; raise maxPosts"
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
    await write_posts(client, user, ["a post to report on"])
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
    assert job["result"]["postCount"] == 1
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
    await seed_posts(database_url, user.id, 400)  # ~80,000 pairs: seconds of work
    first = start_worker(settings, tmp_path / "first.log", CELERY_VISIBILITY_TIMEOUT="5")
    queued = (await submit(client, user)).json()

    async def running() -> bool:
        job = (await client.get(f"/jobs/{queued['id']}", headers=user.headers)).json()
        return bool(job["status"] == "running")

    try:
        await eventually(running, 60)
    finally:
        first.kill()
    second = start_worker(settings, tmp_path / "second.log", CELERY_VISIBILITY_TIMEOUT="5")
    try:
        job = await finished_job(client, user, queued["id"], timeout_s=120)
    finally:
        second.stop()
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2  # started, killed, redelivered, finished
    assert job["result"]["postCount"] == 400
    assert await succeeded_events(database_url, queued["id"]) == 1


async def test_broker_down_is_503_and_the_job_is_marked_failed(
    settings: Settings, client_for: ClientFactory, closed_port: int
) -> None:
    broker = str(settings.celery_broker_url)
    down = broker.replace(f":{urlsplit(broker).port}", f":{closed_port}", 1)
    async with client_for(
        settings.model_copy(update={"celery_broker_url": type(settings.celery_broker_url)(down)})
    ) as client:
        signup = {
            "email": "ada@example.com",
            "password": "analytical engine 1843",
            "displayName": "Ada",
        }
        assert (await client.post("/auth/signup", json=signup)).status_code == 201
        token = (
            await client.post(
                "/auth/token", data={"username": signup["email"], "password": signup["password"]}
            )
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        response = await client.post("/jobs", json={}, headers=headers)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
        jobs = (await client.get("/jobs", headers=headers)).json()
    assert jobs["total"] == 1
    [job] = jobs["items"]
    assert job["status"] == "failed"
    assert job["error"] == "could not be queued: the job queue was unavailable"


async def test_other_users_cannot_see_a_job(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    queued = (await submit(client, alice)).json()
    assert (await client.get(f"/jobs/{queued['id']}", headers=bob.headers)).status_code == 403
    assert (await client.get(f"/jobs/{uuid4()}", headers=bob.headers)).status_code == 404
    assert (await client.get("/jobs", headers=bob.headers)).json()["total"] == 0
    assert (await client.get("/jobs", headers=alice.headers)).json()["total"] == 1


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"maxPosts": 0}, ["body", "maxPosts"]),
        ({"similarityThreshold": 1.5}, ["body", "similarityThreshold"]),
        ({"maxPosts": True}, ["body", "maxPosts"]),
        ({"kind": "something"}, ["body", "kind"]),
    ],
)
async def test_invalid_job_parameters_are_422_and_queue_nothing(
    client: httpx.AsyncClient, make_user: UserFactory, params: dict[str, Any], loc: list[str]
) -> None:
    user = await make_user()
    response = await client.post("/jobs", json=params, headers=user.headers)
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["error"]["details"]] == [loc]
    assert (await client.get("/jobs", headers=user.headers)).json()["total"] == 0


async def seed_identical_posts(database_url: str, author_id: str, count: int, body: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """INSERT INTO posts (author_id, title, body)
            SELECT $1, 'same', $3 FROM generate_series(1, $2)""",
            UUID(author_id),
            count,
            body,
        )
    finally:
        await conn.close()


async def test_a_report_over_identical_posts_keeps_only_the_most_similar_pairs(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings, tmp_path: Path
) -> None:
    # 300 identical posts are 44,850 near-duplicate pairs: the result keeps REPORT_MAX_PAIRS.
    user = await make_user()
    await seed_identical_posts(str(settings.database_url), user.id, 300, NEAR_DUPLICATE)
    worker = start_worker(settings, tmp_path / "worker.log", REPORT_MAX_PAIRS="5")
    try:
        queued = (await submit(client, user, maxPosts=300)).json()
        job = await finished_job(client, user, queued["id"])
    finally:
        worker.stop()
    assert job["status"] == "succeeded", job
    pairs = job["result"]["nearDuplicates"]
    assert len(pairs) == 5
    assert job["result"]["nearDuplicatesFound"] == 300 * 299 // 2
    assert [p["similarity"] for p in pairs] == [1.0] * 5
    assert pairs == sorted(pairs, key=lambda p: (p["first"], p["second"]))
    # The list carries no results: a page of jobs stays small however big each result is.
    listed = await client.get("/jobs", params={"limit": 3}, headers=user.headers)
    assert listed.status_code == 200
    assert [set(item) & {"result"} for item in listed.json()["items"]] == [set()]
    assert len(listed.content) < 2_000


async def test_a_user_may_have_only_so_many_jobs_queued_or_running(
    settings: Settings, client_for: ClientFactory, make_user: UserFactory
) -> None:
    busy, other = await make_user(), await make_user()
    two = settings.model_copy(update={"jobs_max_active_per_user": 2})
    async with client_for(two) as client:  # no worker: the jobs stay queued
        first, second, third = [
            await client.post("/jobs", json={}, headers=busy.headers) for _ in range(3)
        ]
        others = await client.post("/jobs", json={}, headers=other.headers)
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
            *[client.post("/jobs", json={}, headers=user.headers) for _ in range(8)]
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
            VALUES ($1, 'posts_report', $2::jsonb, 'running', $3, now()) RETURNING id::text""",
            UUID(user.id),
            json.dumps({"max_posts": 10, "similarity_threshold": 0.8}),
            settings.job_max_attempts,
        )
    finally:
        await conn.close()
    celery = create_celery(settings)
    try:
        await asyncio.to_thread(celery.send_task, RUN_POSTS_REPORT, args=[job_id])
    finally:
        await asyncio.to_thread(celery.close)
    job = await finished_job(client, user, job_id)
    assert job["status"] == "failed"
    assert job["error"] == (
        f"gave up after {settings.job_max_attempts} attempts: the worker stopped each time"
    )


async def test_a_report_that_needs_too_much_memory_fails_readably(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings, tmp_path: Path
) -> None:
    # Long distinct posts: their shingles alone take far more than the worker's memory limit.
    user = await make_user()
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        await conn.execute(
            """INSERT INTO posts (author_id, title, body)
            SELECT $1, 'long ' || n, (SELECT string_agg(md5((n * 10000 + k)::text), ' ')
                                      FROM generate_series(1, 600) k)
            FROM generate_series(1, 2500) n""",
            UUID(user.id),
        )
    finally:
        await conn.close()
    worker = start_worker(
        settings, tmp_path / "worker.log", pool="prefork", WORKER_MEMORY_LIMIT_MB="200"
    )
    try:
        queued = (await submit(client, user, maxPosts=2500)).json()
        job = await finished_job(client, user, queued["id"], timeout_s=120)
    finally:
        worker.stop()
    assert job["status"] == "failed", job
    assert job["error"] == "the job needed more memory than a worker may use"
