import asyncio
from typing import Any

import httpx
import pytest

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.core.settings import Settings
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.jobs import service as jobs_service
{%- endif %}

from tests.helpers.apps import ClientFactory
from tests.helpers.audit import list_events, record_events
from tests.helpers.users import UserFactory, bearer, log_in, refresh, sign_up


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


async def test_password_change_needs_the_current_password_and_ends_other_sessions(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()  # this session changes the password
    laptop = await log_in(client, user.email)
    new_password = "a new password 2024"

    wrong = await client.post(
        "/users/me/password",
        json={"currentPassword": "not the password 1", "newPassword": new_password},
        headers=user.headers,
    )
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "wrong_password"
    assert (await client.get("/users/me", headers=bearer(laptop))).status_code == 200

    changed = await client.post(
        "/users/me/password",
        json={"currentPassword": user.password, "newPassword": new_password},
        headers=user.headers,
    )
    assert changed.status_code == 204, changed.text
    # The other session ends at once, access and refresh token alike; this one goes on.
    assert (await client.get("/users/me", headers=bearer(laptop))).status_code == 401
    refreshed = await refresh(client, laptop["refresh_token"])
    assert refreshed.status_code == 401
    assert (await client.get("/users/me", headers=user.headers)).status_code == 200
    old = await client.post("/auth/token", data={"username": user.email, "password": user.password})
    assert old.status_code == 401
    await log_in(client, user.email, new_password)


async def test_wrong_current_passwords_count_against_the_login_limit(
    client_for: ClientFactory, settings: Settings
) -> None:
    limited = settings.model_copy(update={"login_max_attempts_per_account_and_address": 3})
    async with client_for(limited) as client:
        user = await sign_up(client)  # its login cleared the counter
        codes = []
        for _ in range(2):
            response = await client.post(
                "/users/me/password",
                json={"currentPassword": "not the password 1", "newPassword": "n3w password!!!"},
                headers=user.headers,
            )
            codes.append(response.status_code)
        wrong_login = {"username": user.email, "password": "not the password 1"}
        codes.append((await client.post("/auth/token", data=wrong_login)).status_code)
        right_login = {"username": user.email, "password": user.password}
        codes.append((await client.post("/auth/token", data=right_login)).status_code)
    # The guesses through this route and the login route share one counter: two here and one
    # there reach the limit of three.
    assert codes == [403, 403, 401, 429]


async def test_unknown_or_invalid_fields_are_refused(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    for body, loc in [
        ({"displayName": "Ada", "email": "x@example.com"}, ["body", "email"]),
        ({"displayName": "Ada", "password": "a new password 2024"}, ["body", "password"]),
        ({"displayName": "x" * 51}, ["body", "displayName"]),
        ({}, ["body", "displayName"]),
    ]:
        response = await client.patch("/users/me", json=body, headers=user.headers)
        assert response.status_code == 422
        assert [d["loc"] for d in response.json()["error"]["details"]] == [loc]
    assert (await client.get("/users/me", headers=user.headers)).json()["displayName"] == "Ada"


# The queries GET /users/me/summary runs, each on a connection of its own (S17).
SUMMARY_QUERIES = [
    (audit_service, "count_events"),
    (audit_service, "list_events"),
{%- if cookiecutter.include_celery == 'y' %}
    (jobs_service, "count_jobs"),
{%- endif %}
]


async def test_summary_gathers_counts_and_latest_audit_events_concurrently(
    client: httpx.AsyncClient,
    make_user: UserFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await make_user()
    other = await make_user()
    events = [f"test.event_{n}" for n in range(6)]
    await record_events(str(settings.database_url), user.id, events)
    await record_events(str(settings.database_url), other.id, ["test.not_mine"])
    newest = (await list_events(client, user, limit=5))["items"]
    # Each query waits, before it runs, until every one of them has started: run one after
    # another, the first would wait in vain and the request fail.
    all_started = asyncio.Barrier(len(SUMMARY_QUERIES))
    for module, name in SUMMARY_QUERIES:
        query = getattr(module, name)

        async def after_all_started(*args: Any, query: Any = query) -> Any:
            async with asyncio.timeout(5):
                await all_started.wait()
            return await query(*args)

        monkeypatch.setattr(module, name, after_all_started)

    response = await client.get("/users/me/summary", headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["auditEventCount"] == 7  # user.signed_up (the sign-up's background task), then 6
    latest = body["latestAuditEvents"]
    assert [event["event"] for event in latest] == [
        "test.event_5",
        "test.event_4",
        "test.event_3",
        "test.event_2",
        "test.event_1",
    ]
    assert latest == newest  # the same events, in the same shape, as GET /audit-events
{%- if cookiecutter.include_celery == 'y' %}
    assert body["jobCount"] == 0
{%- endif %}
    assert set(body) == {"auditEventCount", "latestAuditEvents"{% if cookiecutter.include_celery == 'y' %}, "jobCount"{% endif %}}
