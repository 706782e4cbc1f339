from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.helpers.posts import POST, write_post
from tests.helpers.users import UserFactory


async def test_create_and_read_a_post(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    author = await make_user()
    created = await write_post(client, author)
    assert created["authorId"] == author.id
    assert created["title"] == POST["title"]
    read = await client.get(f"/posts/{created['id']}", headers=author.headers)
    assert read.status_code == 200
    assert read.json() == created


async def test_list_is_paginated_newest_first(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    author = await make_user()
    for n in range(3):
        await write_post(client, author, title=f"post {n}")
    first = (await client.get("/posts", params={"limit": 2}, headers=author.headers)).json()
    second = (
        await client.get("/posts", params={"limit": 2, "offset": 2}, headers=author.headers)
    ).json()
    assert [p["title"] for p in first["items"]] == ["post 2", "post 1"]
    assert [p["title"] for p in second["items"]] == ["post 0"]
    assert first["total"] == second["total"] == 3
    assert (first["limit"], second["offset"]) == (2, 2)


async def test_list_shows_only_the_callers_posts(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    await write_post(client, alice)
    page = (await client.get("/posts", headers=bob.headers)).json()
    assert page == {"items": [], "total": 0, "limit": 20, "offset": 0}


async def test_partial_update_keeps_other_fields(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    author = await make_user()
    post = await write_post(client, author)
    response = await client.patch(
        f"/posts/{post['id']}", json={"title": "New title"}, headers=author.headers
    )
    assert response.status_code == 200
    assert response.json()["title"] == "New title"
    assert response.json()["body"] == POST["body"]
    assert response.json()["updatedAt"] >= post["updatedAt"]


async def test_delete_removes_the_post(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    author = await make_user()
    post = await write_post(client, author)
    assert (await client.delete(f"/posts/{post['id']}", headers=author.headers)).status_code == 204
    assert (await client.get(f"/posts/{post['id']}", headers=author.headers)).status_code == 404


OWNED_ROUTES = [("GET", None), ("PATCH", {"title": "hijacked"}), ("DELETE", None)]


@pytest.mark.parametrize(("method", "body"), OWNED_ROUTES)
async def test_other_user_cannot_touch_a_post(
    client: httpx.AsyncClient, make_user: UserFactory, method: str, body: dict[str, str] | None
) -> None:
    alice, bob = await make_user(), await make_user()
    post = await write_post(client, alice)
    response = await client.request(method, f"/posts/{post['id']}", json=body, headers=bob.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_post_author"
    unchanged = await client.get(f"/posts/{post['id']}", headers=alice.headers)
    assert unchanged.json() == post


@pytest.mark.parametrize(("method", "body"), OWNED_ROUTES)
async def test_unknown_post_is_404(
    client: httpx.AsyncClient, make_user: UserFactory, method: str, body: dict[str, str] | None
) -> None:
    user = await make_user()
    response = await client.request(method, f"/posts/{uuid4()}", json=body, headers=user.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "post_not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/posts"), ("POST", "/posts"), *[(m, f"/posts/{uuid4()}") for m, _ in OWNED_ROUTES]],
)
async def test_posts_need_a_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json=POST if method == "POST" else None)
    assert response.status_code == 401


async def test_malformed_post_id_is_422(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user()
    response = await client.get("/posts/not-a-uuid", headers=user.headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["path", "post_id"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"body": "no title"}, ["body", "title"]),
        ({"title": "", "body": "x"}, ["body", "title"]),
        ({"title": "x" * 201, "body": "x"}, ["body", "title"]),
        ({"title": ["list"], "body": "x"}, ["body", "title"]),
        ({"title": "x", "body": "PostgreSQL text cannot hold \x00"}, ["body", "body"]),
        ({**POST, "authorId": str(uuid4())}, ["body", "authorId"]),
    ],
)
async def test_invalid_post_is_422_and_not_stored(
    client: httpx.AsyncClient, make_user: UserFactory, body: dict[str, Any], loc: list[str]
) -> None:
    user = await make_user()
    response = await client.post("/posts", json=body, headers=user.headers)
    assert response.status_code == 422
    assert loc in [d["loc"] for d in response.json()["error"]["details"]]
    assert (await client.get("/posts", headers=user.headers)).json()["total"] == 0


async def test_empty_update_is_422(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    author = await make_user()
    post = await write_post(client, author)
    response = await client.patch(f"/posts/{post['id']}", json={}, headers=author.headers)
    assert response.status_code == 422


async def test_analysis_runs_in_the_process_pool(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    author = await make_user()
    text = "The engine weaves patterns. The engine computes! Does the engine think? Patterns, patterns."
    post = await write_post(client, author, body=text)
    response = await client.get(f"/posts/{post['id']}/analysis", headers=author.headers)
    assert response.status_code == 200
    stats = response.json()
    assert stats["wordCount"] == 13
    assert stats["sentenceCount"] == 4
    assert stats["topWords"][:2] == [
        {"word": "engine", "count": 3},
        {"word": "patterns", "count": 3},
    ]


async def test_other_user_cannot_analyse_a_post(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    alice, bob = await make_user(), await make_user()
    post = await write_post(client, alice)
    response = await client.get(f"/posts/{post['id']}/analysis", headers=bob.headers)
    assert response.status_code == 403


async def test_a_405_on_posts_lists_the_collections_and_the_items_methods(
    client: httpx.AsyncClient,
) -> None:
    # Routes of one path are declared apart (list and create, read and update and delete).
    collection = await client.options("/posts")
    item = await client.put(f"/posts/{uuid4()}")
    assert (collection.status_code, collection.headers["allow"]) == (405, "GET, POST")
    assert (item.status_code, item.headers["allow"]) == (405, "DELETE, GET, PATCH")
{%- if cookiecutter.include_celery == 'y' %}
    # A fixed path is matched before a templated one, as in the schema.
    report = await client.options("/posts/report")
    assert (report.status_code, report.headers["allow"]) == (405, "POST")
{%- endif %}
