import httpx

from tests.helpers.users import UserFactory


async def test_me_returns_the_caller(client: httpx.AsyncClient, make_user: UserFactory) -> None:
    user = await make_user(display_name="Grace")
    response = await client.get("/users/me", headers=user.headers)
    assert response.status_code == 200
    assert response.json()["id"] == user.id
    assert response.json()["displayName"] == "Grace"


async def test_display_name_can_be_changed(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    response = await client.patch(
        "/users/me", json={"displayName": "  Countess  "}, headers=user.headers
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "Countess"
    assert (await client.get("/users/me", headers=user.headers)).json()["displayName"] == "Countess"


async def test_password_change_takes_effect(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    new_password = "a new password 2024"
    assert (
        await client.patch("/users/me", json={"password": new_password}, headers=user.headers)
    ).status_code == 200
    old = await client.post("/auth/token", data={"username": user.email, "password": user.password})
    new = await client.post("/auth/token", data={"username": user.email, "password": new_password})
    assert old.status_code == 401
    assert new.status_code == 200


async def test_unknown_or_invalid_fields_are_refused(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    for body, loc in [
        ({"email": "x@example.com"}, ["body", "email"]),
        ({"displayName": "x" * 51}, ["body", "displayName"]),
    ]:
        response = await client.patch("/users/me", json=body, headers=user.headers)
        assert response.status_code == 422
        assert [d["loc"] for d in response.json()["error"]["details"]] == [loc]
    assert (await client.get("/users/me", headers=user.headers)).json()["displayName"] == "Ada"


async def test_summary_gathers_counts_and_latest_posts(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    other = await make_user()
    for n in range(7):
        await client.post(
            "/posts", json={"title": f"post {n}", "body": "text"}, headers=user.headers
        )
    await client.post("/posts", json={"title": "not mine", "body": "text"}, headers=other.headers)

    response = await client.get("/users/me/summary", headers=user.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["postCount"] == 7
    assert [post["title"] for post in body["latestPosts"]] == [
        "post 6",
        "post 5",
        "post 4",
        "post 3",
        "post 2",
    ]
    assert body["auditEventCount"] == 1  # user.signed_up, written by the signup's background task
{%- if cookiecutter.include_celery == 'y' %}
    assert body["jobCount"] == 0
{%- endif %}
