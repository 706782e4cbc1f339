"""The posts report end to end: POST /posts/report, a real worker, the result polled."""

from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.jobs import finished_job
from tests.helpers.posts import write_posts
from tests.helpers.users import SignedUpUser, UserFactory
from tests.helpers.workers import WorkerProcess, start_worker

NEAR_DUPLICATE = "the analytical engine weaves algebraic patterns just as the loom weaves flowers"


async def submit_report(
    client: httpx.AsyncClient, user: SignedUpUser, **params: Any
) -> dict[str, Any]:
    response = await client.post("/posts/report", json=params, headers=user.headers)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"{client.base_url}/jobs/{response.json()['id']}"
    job: dict[str, Any] = response.json()
    return job


async def test_report_finds_near_duplicates_and_counts_words(
    client: httpx.AsyncClient, make_user: UserFactory, worker: WorkerProcess
) -> None:
    user = await make_user()
    await write_posts(
        client, user, [NEAR_DUPLICATE, NEAR_DUPLICATE + " again", "something else entirely here"]
    )
    queued = await submit_report(client, user, similarityThreshold=0.7)
    assert queued["kind"] == "posts.report"
    assert queued["params"] == {"maxPosts": 5000, "similarityThreshold": 0.7, "maxPairs": 100}
    job = await finished_job(client, user, queued["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["postCount"] == 3
    assert len(job["result"]["nearDuplicates"]) == 1
    assert job["result"]["nearDuplicatesFound"] == 1
    assert job["result"]["topWords"][0] == {"word": "weaves", "count": 4}


async def test_report_over_too_many_posts_fails_with_a_readable_error(
    client: httpx.AsyncClient, make_user: UserFactory, worker: WorkerProcess
) -> None:
    user = await make_user()
    await write_posts(client, user, ["one", "two", "three"])
    queued = await submit_report(client, user, maxPosts=2)
    job = await finished_job(client, user, queued["id"])
    assert job["status"] == "failed"
    assert job["error"] == "there are more than 2 posts, this report's limit; raise maxPosts"
    assert job["result"] is None


async def test_report_over_identical_posts_keeps_only_the_most_similar_pairs(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings, tmp_path: Path
) -> None:
    # 300 identical posts are 44,850 near-duplicate pairs: the result keeps maxPairs of them.
    user = await make_user()
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        await conn.execute(
            """INSERT INTO posts (author_id, title, body)
            SELECT $1, 'same', $3 FROM generate_series(1, $2)""",
            UUID(user.id),
            300,
            NEAR_DUPLICATE,
        )
    finally:
        await conn.close()
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        queued = await submit_report(client, user, maxPosts=300, maxPairs=5)
        job = await finished_job(client, user, queued["id"])
    finally:
        worker.stop()
    assert job["status"] == "succeeded", job
    pairs = job["result"]["nearDuplicates"]
    assert len(pairs) == 5
    assert job["result"]["nearDuplicatesFound"] == 300 * 299 // 2
    assert [p["similarity"] for p in pairs] == [1.0] * 5
    assert pairs == sorted(pairs, key=lambda p: (p["first"], p["second"]))


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"maxPosts": 0}, ["body", "maxPosts"]),
        ({"similarityThreshold": 1.5}, ["body", "similarityThreshold"]),
        ({"maxPosts": True}, ["body", "maxPosts"]),
        ({"maxPairs": 1001}, ["body", "maxPairs"]),
        ({"kind": "something"}, ["body", "kind"]),
    ],
)
async def test_invalid_report_parameters_are_422_and_queue_nothing(
    client: httpx.AsyncClient, make_user: UserFactory, params: dict[str, Any], loc: list[str]
) -> None:
    user = await make_user()
    response = await client.post("/posts/report", json=params, headers=user.headers)
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["error"]["details"]] == [loc]
    assert (await client.get("/jobs", headers=user.headers)).json()["total"] == 0
