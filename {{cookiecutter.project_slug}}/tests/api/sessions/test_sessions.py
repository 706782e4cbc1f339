"""Sessions: refresh-token rotation and reuse detection, logout, and the caller's session list."""

import asyncio
import hashlib
from base64 import urlsafe_b64decode
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import ClientFactory
from tests.helpers.logs import LogEvents
from tests.helpers.responses import error_code
from tests.helpers.users import SignedUpUser, UserFactory, bearer, log_in, refresh, sign_up

SIGNUP = {"email": "ada@example.com", "password": "correct horse 42", "displayName": "Ada"}
LOGIN = {"username": "ada@example.com", "password": "correct horse 42"}


async def sessions_of(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get("/users/me/sessions", headers=headers)
    assert response.status_code == 200, response.text
    sessions: list[dict[str, Any]] = response.json()
    return sessions


async def test_a_refresh_spends_the_token_and_issues_a_new_pair(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    response = await refresh(client, user.refresh_token)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert tokens["refresh_token"] != user.refresh_token
    assert (await client.get("/users/me", headers=bearer(tokens))).json()["id"] == user.id
    # The same session goes on: its earlier access token stays valid until it expires.
    assert (await client.get("/users/me", headers=user.headers)).status_code == 200
    assert len(await sessions_of(client, user.headers)) == 1
    # The new refresh token works once in its turn.
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200


async def test_a_spent_refresh_token_presented_again_ends_the_session(
    log_events: LogEvents, settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings) as client:  # built after log_events: it logs to capsys
        user = await sign_up(client)
        other_device = await log_in(client, user.email)
        legitimate = (await refresh(client, user.refresh_token)).json()  # the owner refreshes

        reused = await refresh(client, user.refresh_token)  # a thief replays the stolen one
        assert error_code(reused) == (401, "refresh_token_reused")
        # The session is over for both holders: the newest refresh token and every access token.
        assert error_code(await refresh(client, legitimate["refresh_token"])) == (
            401,
            "invalid_refresh_token",
        )
        for headers in (bearer(legitimate), user.headers):
            response = await client.get("/users/me", headers=headers)
            assert error_code(response) == (401, "invalid_token")
        # Other sessions are not touched; the account shows what happened.
        events = await client.get("/audit-events", headers=bearer(other_device))
    newest = events.json()["items"][0]
    assert newest["event"] == "session.refresh_token_reused"
    [line] = log_events("refresh_token_reused")
    assert line["user_id"] == user.id
    assert line["level"] == "warning"


async def test_two_refreshes_with_one_token_at_once_count_as_a_reuse(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    first, second = await asyncio.gather(
        refresh(client, user.refresh_token), refresh(client, user.refresh_token)
    )
    # The session row is locked: one refresh wins, the other finds the token spent.
    assert sorted([first.status_code, second.status_code]) == [200, 401]
    loser = first if first.status_code == 401 else second
    assert loser.json()["error"]["code"] == "refresh_token_reused"
    assert (await client.get("/users/me", headers=user.headers)).status_code == 401


async def test_bad_refresh_requests_get_a_clear_error_and_change_nothing(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str
) -> None:
    user = await make_user()
    access_token = user.headers["Authorization"].removeprefix("Bearer ")
    for body, expected in [
        (None, (401, "refresh_token_missing")),
        ({"refresh_token": "x" * 43}, (401, "invalid_refresh_token")),
        ({"refresh_token": access_token[:100]}, (401, "invalid_refresh_token")),
        ({"refresh_token": "\x00"}, (401, "invalid_refresh_token")),
        ({"refresh_token": ""}, (422, "validation_error")),
        ({"refresh_token": "x" * 101}, (422, "validation_error")),
        ({"refresh_token": 42}, (422, "validation_error")),
        ({"refresh_token": user.refresh_token, "user_id": str(uuid4())}, (422, "validation_error")),
        ({"refreshToken": user.refresh_token}, (422, "validation_error")),
    ]:
        response = await client.post("/auth/refresh", json=body)
        assert error_code(response) == expected, body
    # None of them spent the real token.
    conn = await asyncpg.connect(database_url)
    try:
        assert (
            await conn.fetchval("SELECT count(*) FROM refresh_tokens WHERE spent_at IS NOT NULL")
            == 0
        )
    finally:
        await conn.close()
    assert (await refresh(client, user.refresh_token)).status_code == 200


async def test_refresh_tokens_are_stored_hashed_and_never_logged(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    client_for: ClientFactory,
    database_url: str,
) -> None:
    async with client_for(settings) as client:  # built after capsys: it logs to capsys
        user = await sign_up(client)
        rotated = (await refresh(client, user.refresh_token)).json()["refresh_token"]
        assert (await refresh(client, user.refresh_token)).status_code == 401  # a reuse, logged
        user2 = await sign_up(client)
    conn = await asyncpg.connect(database_url)
    try:
        stored = [row[0] for row in await conn.fetch("SELECT token_hash FROM refresh_tokens")]
    finally:
        await conn.close()
    # The reuse ended the first session, and its tokens went with it.
    assert stored == [hashlib.sha256(user2.refresh_token.encode()).digest()]
    assert len(urlsafe_b64decode(user2.refresh_token + "=")) == 32
    printed = capsys.readouterr()
    logged = printed.out + printed.err
    # The lines were captured (the reuse warning among them), and no token is in any of them.
    assert '"event": "refresh_token_reused"' in logged
    for token in (user.refresh_token, rotated, user2.refresh_token):
        assert token not in logged


async def test_logout_ends_the_callers_session_only(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    phone = await log_in(client, user.email)
    assert (await client.post("/auth/logout", headers=user.headers)).status_code == 204
    assert error_code(await client.get("/users/me", headers=user.headers)) == (401, "invalid_token")
    assert error_code(await refresh(client, user.refresh_token)) == (401, "invalid_refresh_token")
    assert (await client.post("/auth/logout", headers=user.headers)).status_code == 401
    # The phone's session is another one.
    assert (await client.get("/users/me", headers=bearer(phone))).status_code == 200
    assert (await refresh(client, phone["refresh_token"])).status_code == 200


async def test_logout_all_ends_every_session_of_the_account_only(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    phone = await log_in(client, user.email)
    other = await make_user()
    assert (await client.post("/auth/logout-all", headers=bearer(phone))).status_code == 204
    for headers, refresh_token in [
        (bearer(phone), phone["refresh_token"]),
        (user.headers, user.refresh_token),
    ]:
        assert (await client.get("/users/me", headers=headers)).status_code == 401
        assert (await refresh(client, refresh_token)).status_code == 401
    assert (await client.get("/users/me", headers=other.headers)).status_code == 200
    assert (await refresh(client, other.refresh_token)).status_code == 200


async def test_sessions_list_the_callers_devices(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    laptop = await log_in(client, user.email, **{"User-Agent": "Laptop/1.0"})
    await log_in(client, user.email, **{"User-Agent": "x" * 1000})
    sessions = await sessions_of(client, bearer(laptop))
    assert len(sessions) == 3
    assert set(sessions[0]) == {
        "id",
        "createdAt",
        "lastUsedAt",
        "expiresAt",
        "userAgent",
        "address",
        "current",
    }
    newest, current, first = sessions  # most recently used first
    assert newest["userAgent"] == "x" * 256  # kept to a bound
    assert (current["userAgent"], current["current"]) == ("Laptop/1.0", True)
    assert (newest["current"], first["current"]) == (False, False)
    assert {session["address"] for session in sessions} == {"127.0.0.1"}
    # A refresh makes its session the most recently used.
    await refresh(client, user.refresh_token)
    assert (await sessions_of(client, bearer(laptop)))[0]["id"] == first["id"]


async def test_a_session_can_be_ended_by_id_by_its_owner_only(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    phone = await log_in(client, user.email)
    other = await make_user()
    [others] = await sessions_of(client, other.headers)
    phone_session = next(s for s in await sessions_of(client, user.headers) if not s["current"])

    # Another user's session answers like one that does not exist, and stays live.
    for session_id in (others["id"], str(uuid4())):
        response = await client.delete(f"/users/me/sessions/{session_id}", headers=user.headers)
        assert error_code(response) == (404, "session_not_found")
    assert (await client.get("/users/me", headers=other.headers)).status_code == 200
    response = await client.delete("/users/me/sessions/not-a-uuid", headers=user.headers)
    assert error_code(response) == (422, "validation_error")
    response = await client.delete(f"/users/me/sessions/{phone_session['id']}")
    assert error_code(response) == (401, "not_authenticated")

    path = f"/users/me/sessions/{phone_session['id']}"
    assert (await client.delete(path, headers=user.headers)).status_code == 204
    assert (await client.get("/users/me", headers=bearer(phone))).status_code == 401
    assert (await refresh(client, phone["refresh_token"])).status_code == 401
    assert error_code(await client.delete(path, headers=user.headers)) == (404, "session_not_found")
    assert len(await sessions_of(client, user.headers)) == 1


async def test_logging_in_beyond_the_limit_ends_the_least_recently_used_session(
    client_for: ClientFactory, settings: Settings
) -> None:
    capped = settings.model_copy(update={"max_sessions_per_user": 2})
    async with client_for(capped) as client:
        first = await client.post(
            "/auth/signup",
            json={"email": "cap@example.com", "password": "correct horse 42", "displayName": "C"},
        )
        assert first.status_code == 201
        oldest = await log_in(client, "cap@example.com", "correct horse 42")
        second = await log_in(client, "cap@example.com", "correct horse 42")
        await refresh_with(client, oldest)  # now the most recently used
        third = await log_in(client, "cap@example.com", "correct horse 42")
        alive = {
            name: (await client.get("/users/me", headers=bearer(tokens))).status_code
            for name, tokens in [("oldest", oldest), ("second", second), ("third", third)]
        }
    assert alive == {"oldest": 200, "second": 401, "third": 200}


async def refresh_with(client: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
    """Refresh in place: `tokens` then holds the new pair."""
    response = await refresh(client, tokens["refresh_token"])
    assert response.status_code == 200, response.text
    tokens.update(response.json())


async def test_an_expired_session_is_over(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str
) -> None:
    user = await make_user()
    other = await log_in(client, user.email)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE sessions SET expires_at = now() - interval '1 second' "
            "WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)",
            hashlib.sha256(user.refresh_token.encode()).digest(),
        )
    finally:
        await conn.close()
    assert error_code(await refresh(client, user.refresh_token)) == (401, "invalid_refresh_token")
    assert error_code(await client.get("/users/me", headers=user.headers)) == (401, "invalid_token")
    assert [s["current"] for s in await sessions_of(client, bearer(other))] == [True]


async def test_deleting_the_account_ends_its_sessions(
    client: httpx.AsyncClient, make_user: UserFactory, database_url: str
) -> None:
    user: SignedUpUser = await make_user()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DELETE FROM users WHERE email = $1", user.email)
        assert await conn.fetchval("SELECT count(*) FROM sessions") == 0
    finally:
        await conn.close()
    assert error_code(await refresh(client, user.refresh_token)) == (401, "invalid_refresh_token")


# With REFRESH_TOKEN_COOKIE on (browser clients).
CSRF = {"X-Requested-With": "fetch"}


def refresh_cookie(response: httpx.Response) -> tuple[str, set[str]]:
    """The refresh cookie a response sets: its value and its attributes, lower-cased."""
    [header] = [
        h for h in response.headers.get_list("set-cookie") if h.startswith("refresh_token=")
    ]
    value, *attributes = (part.strip() for part in header.split(";"))
    return value.removeprefix("refresh_token=").strip('"'), {a.lower() for a in attributes}


@pytest.fixture
async def cookie_client(
    settings: Settings, client_for: ClientFactory
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings.model_copy(update={"refresh_token_cookie": True})) as client:
        yield client


async def log_in_with_cookie(client: httpx.AsyncClient) -> tuple[httpx.Response, str]:
    """Sign Ada up and log her in: the login response, and the refresh token in its cookie."""
    assert (await client.post("/auth/signup", json=SIGNUP)).status_code == 201
    login = await client.post("/auth/token", data=LOGIN)
    assert login.status_code == 200, login.text
    token, _ = refresh_cookie(login)
    return login, token


async def test_in_cookie_mode_the_refresh_token_lives_in_a_strict_http_only_cookie(
    cookie_client: httpx.AsyncClient,
) -> None:
    login, token = await log_in_with_cookie(cookie_client)
    assert login.json()["refresh_token"] is None  # out of reach of the page's scripts
    _, attributes = refresh_cookie(login)
    assert len(token) == 43
    assert {"httponly", "secure", "samesite=strict", "path=/auth"} <= attributes
    assert f"max-age={30 * 24 * 3600}" in attributes

    cookie = {"Cookie": f"refresh_token={token}"}
    refreshed = await cookie_client.post("/auth/refresh", headers={**cookie, **CSRF})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] is None
    new_token, _ = refresh_cookie(refreshed)
    assert new_token != token
    # The old cookie is spent, like a token sent in the body.
    replayed = await cookie_client.post("/auth/refresh", headers={**cookie, **CSRF})
    assert error_code(replayed) == (401, "refresh_token_reused")


async def test_in_cookie_mode_refresh_requires_the_custom_header_and_ignores_the_body(
    cookie_client: httpx.AsyncClient,
) -> None:
    _, token = await log_in_with_cookie(cookie_client)
    cookie = {"Cookie": f"refresh_token={token}"}
    # What a cross-site form post looks like: the cookie, no custom header.
    forged = await cookie_client.post("/auth/refresh", headers=cookie)
    assert error_code(forged) == (403, "cross_site_request")
    in_body = await cookie_client.post("/auth/refresh", json={"refresh_token": token}, headers=CSRF)
    assert error_code(in_body) == (401, "refresh_token_missing")
    # Neither spent the token.
    assert (
        await cookie_client.post("/auth/refresh", headers={**cookie, **CSRF})
    ).status_code == 200


async def test_in_cookie_mode_logout_clears_the_cookie(
    cookie_client: httpx.AsyncClient,
) -> None:
    login, token = await log_in_with_cookie(cookie_client)
    response = await cookie_client.post("/auth/logout", headers=bearer(login.json()))
    assert response.status_code == 204
    cleared, attributes = refresh_cookie(response)
    assert cleared == ""
    assert {"max-age=0", "path=/auth", "httponly", "secure"} <= attributes
    cookie = {"Cookie": f"refresh_token={token}", **CSRF}
    assert error_code(await cookie_client.post("/auth/refresh", headers=cookie)) == (
        401,
        "invalid_refresh_token",
    )


async def test_in_body_mode_no_cookie_is_set_or_read(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    login = await client.post(
        "/auth/token", data={"username": user.email, "password": user.password}
    )
    assert "set-cookie" not in login.headers
    cookie = {"Cookie": f"refresh_token={login.json()['refresh_token']}", **CSRF}
    assert error_code(await client.post("/auth/refresh", headers=cookie)) == (
        401,
        "refresh_token_missing",
    )
