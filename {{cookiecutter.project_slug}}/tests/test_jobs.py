"""Jobs end to end: the API queues, a real worker process runs, the client polls (S3/S5)."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.conftest import ClientFactory, SignedUpUser, UserFactory, eventually
from tests.proxy import TcpProxy
from tests.workers import WorkerProcess, start_worker

NEAR_DUPLICATE = "the analytical engine weaves algebraic patterns just as the loom weaves flowers"


async def submit(client: httpx.AsyncClient, user: SignedUpUser, **params: Any) -> httpx.Response:
    response = await client.post("/jobs", json=params, headers=user.headers)
    assert response.status_code == 202, response.text
    return response


async def finished_job(
    client: httpx.AsyncClient, user: SignedUpUser, job_id: str, timeout_s: float = 60
) -> dict[str, Any]:
    job: dict[str, Any] = {}

    async def finished() -> bool:
        nonlocal job
        job = (await client.get(f"/jobs/{job_id}", headers=user.headers)).json()
        return job["status"] in ("succeeded", "failed")

    await eventually(finished, timeout_s)
    return job


async def write_posts(client: httpx.AsyncClient, user: SignedUpUser, bodies: list[str]) -> None:
    for n, body in enumerate(bodies):
        response = await client.post(
            "/posts", json={"title": f"post {n}", "body": body}, headers=user.headers
        )
        assert response.status_code == 201


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
    assert job["error"] == "3 posts exceed this report's limit of 2; raise maxPosts"
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


async def seed_posts(database_url: str, author_id: str, count: int) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """INSERT INTO posts (author_id, title, body)
            SELECT $1, 'post ' || n, (SELECT string_agg(md5((n * 100 + k)::text), ' ') FROM generate_series(1, 40) k)
            FROM generate_series(1, $2) n""",
            UUID(author_id),
            count,
        )
    finally:
        await conn.close()


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
