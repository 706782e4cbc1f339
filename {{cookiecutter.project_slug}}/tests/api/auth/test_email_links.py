"""Emailed links: email verification and password reset, with the provider faked at its HTTP API."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import ClientFactory, serve
from tests.helpers.email import FakeEmailProvider, link_token, running_provider, with_provider
from tests.helpers.responses import error_code
from tests.helpers.users import DEFAULT_PASSWORD, bearer, log_in, refresh, sign_up

NEW_PASSWORD = "a brand new password 9"
LINK_SENT = {"message": "If an account has this address, an email with a link is on its way."}


@pytest.fixture
async def provider() -> AsyncIterator[FakeEmailProvider]:
    async with running_provider() as fake:
        yield fake


@pytest.fixture
async def client(
    settings: Settings, client_for: ClientFactory, provider: FakeEmailProvider
) -> AsyncIterator[httpx.AsyncClient]:
    # In process, the background tasks have run when a response arrives: the email is there.
    async with client_for(with_provider(settings, provider)) as client:
        yield client


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/users/me", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def expire_links(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE link_tokens SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()


async def test_the_sign_up_email_link_verifies_the_address_once(
    client: httpx.AsyncClient, provider: FakeEmailProvider
) -> None:
    user = await sign_up(client)
    assert (await me(client, user.headers))["emailVerified"] is False
    [sent] = provider.sent_to(user.email)
    token = link_token(sent, "verify-email")
    assert sent["text"].count(f"http://127.0.0.1:3000/verify-email?token={token}") == 1

    assert (await client.post("/auth/verify-email", json={"token": token})).status_code == 204
    assert (await me(client, user.headers))["emailVerified"] is True
    again = await client.post("/auth/verify-email", json={"token": token})
    assert error_code(again) == (400, "invalid_link")


async def test_bad_verification_tokens_get_one_clear_error(
    client: httpx.AsyncClient, provider: FakeEmailProvider, database_url: str
) -> None:
    user = await sign_up(client)
    token = link_token(provider.sent_to(user.email)[0], "verify-email")
    for body in ({"token": "x" * 43}, {"token": token[:-1]}, {"token": "\x00"}):
        response = await client.post("/auth/verify-email", json=body)
        assert error_code(response) == (400, "invalid_link"), body
    for body in ({}, {"token": ""}, {"token": "x" * 101}, {"token": token, "userId": user.id}):
        response = await client.post("/auth/verify-email", json=body)
        assert error_code(response) == (422, "validation_error"), body
    # A reset confirmation does not take a verification token, nor the other way round.
    confirm = {"token": token, "newPassword": NEW_PASSWORD}
    assert error_code(await client.post("/auth/password-reset/confirm", json=confirm)) == (
        400,
        "invalid_link",
    )
    await expire_links(database_url)
    expired = await client.post("/auth/verify-email", json={"token": token})
    assert error_code(expired) == (400, "invalid_link")
    assert (await me(client, user.headers))["emailVerified"] is False


async def test_a_resent_link_replaces_the_earlier_one(
    client: httpx.AsyncClient, provider: FakeEmailProvider, settings: Settings
) -> None:
    user = await sign_up(client)
    first = link_token(provider.sent_to(user.email)[0], "verify-email")
    response = await client.post("/auth/verify-email/resend", json={"email": user.email})
    assert (response.status_code, response.json()) == (202, LINK_SENT)
    resent = provider.sent_to(user.email)[1]
    assert resent["subject"] == f"Confirm your {settings.app_name} address"
    second = link_token(resent, "verify-email")
    assert error_code(await client.post("/auth/verify-email", json={"token": first})) == (
        400,
        "invalid_link",
    )
    assert (await client.post("/auth/verify-email", json={"token": second})).status_code == 204


async def test_asking_for_a_link_answers_the_same_whether_or_not_the_account_exists(
    client: httpx.AsyncClient, provider: FakeEmailProvider, settings: Settings
) -> None:
    user = await sign_up(client)
    verified = await sign_up(client)
    token = link_token(provider.sent_to(verified.email)[0], "verify-email")
    assert (await client.post("/auth/verify-email", json={"token": token})).status_code == 204
    before = len(provider.received)

    answers = []
    for path in ("/auth/verify-email/resend", "/auth/password-reset"):
        for email in (user.email, verified.email, "nobody@example.com"):
            response = await client.post(path, json={"email": email})
            answers.append((response.status_code, response.json(), dict(response.headers)))
    assert {(status, str(body)) for status, body, _ in answers} == {(202, str(LINK_SENT))}
    header_names = {tuple(sorted(set(headers) - {"x-request-id"})) for *_, headers in answers}
    assert len(header_names) == 1
    # Only accounts that should get one got an email: a verification link to the unverified
    # account, a reset link to both real ones.
    sent = [
        (email["json"]["to"][0], email["json"]["subject"]) for email in provider.received[before:]
    ]
    app = settings.app_name
    assert sent == [
        (user.email, f"Confirm your {app} address"),
        (user.email, f"Reset your {app} password"),
        (verified.email, f"Reset your {app} password"),
    ]


async def test_the_answer_does_not_wait_for_the_account_lookup_or_the_email(
    settings: Settings,
) -> None:
    signup = {"email": "ada@example.com", "password": DEFAULT_PASSWORD, "displayName": "A"}
    async with running_provider(open_gate=False) as provider:
        app = create_app(with_provider(settings, provider))
        async with serve(app) as api, httpx.AsyncClient(base_url=api) as client:
            assert (await client.post("/auth/signup", json=signup)).status_code == 201
            # The provider holds every email: an answer that waited for one would time out.
            for email in ("ada@example.com", "nobody@example.com"):
                async with asyncio.timeout(5):
                    answer = await client.post("/auth/password-reset", json={"email": email})
                assert answer.status_code == 202
            provider.gate.set()


async def test_a_password_reset_sets_the_password_once_and_ends_every_session(
    client: httpx.AsyncClient, provider: FakeEmailProvider, database_url: str
) -> None:
    user = await sign_up(client)
    laptop = await log_in(client, user.email)
    assert (
        await client.post("/auth/password-reset", json={"email": user.email})
    ).status_code == 202
    [reset] = [email for email in provider.sent_to(user.email) if "Reset" in email["subject"]]
    assert "within 30 minutes" in reset["text"]
    token = link_token(reset, "reset-password")

    weak = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "newPassword": "weak"}
    )
    assert error_code(weak) == (422, "validation_error")  # and the link still works
    guessable = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "newPassword": "qwertyuiopasdfgh"}
    )
    assert error_code(guessable) == (422, "validation_error")
    [detail] = guessable.json()["error"]["details"]
    assert (detail["loc"], detail["type"]) == (["body", "newPassword"], "password_too_guessable")
    confirm = {"token": token, "newPassword": NEW_PASSWORD}
    assert (await client.post("/auth/password-reset/confirm", json=confirm)).status_code == 204

    for headers in (user.headers, bearer(laptop)):
        assert error_code(await client.get("/users/me", headers=headers)) == (401, "invalid_token")
    refreshed = await refresh(client, user.refresh_token)
    assert error_code(refreshed) == (401, "invalid_refresh_token")
    old = await client.post("/auth/token", data={"username": user.email, "password": user.password})
    assert error_code(old) == (401, "invalid_credentials")
    tokens = await log_in(client, user.email, NEW_PASSWORD)
    assert (await me(client, bearer(tokens)))["emailVerified"] is True  # the link reached it

    again = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "newPassword": "another one 123"}
    )
    assert error_code(again) == (400, "invalid_link")
    conn = await asyncpg.connect(database_url)
    try:
        event = await conn.fetchval(
            "SELECT event FROM audit_events WHERE event = 'user.password_reset'"
        )
    finally:
        await conn.close()
    assert event == "user.password_reset"


async def test_expired_and_forged_reset_links_are_refused_and_change_nothing(
    client: httpx.AsyncClient, provider: FakeEmailProvider, database_url: str
) -> None:
    user = await sign_up(client)
    await client.post("/auth/password-reset", json={"email": user.email})
    token = link_token(provider.sent_to(user.email)[-1], "reset-password")
    for forged in ("x" * 43, token.upper() if token.upper() != token else token.lower()):
        response = await client.post(
            "/auth/password-reset/confirm", json={"token": forged, "newPassword": NEW_PASSWORD}
        )
        assert error_code(response) == (400, "invalid_link")
    await expire_links(database_url)
    response = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "newPassword": NEW_PASSWORD}
    )
    assert error_code(response) == (400, "invalid_link")
    # The old password and the session are untouched.
    assert (await client.get("/users/me", headers=user.headers)).status_code == 200
    await log_in(client, user.email, DEFAULT_PASSWORD)


async def test_a_reset_judges_the_new_password_by_the_accounts_names(
    client: httpx.AsyncClient, provider: FakeEmailProvider
) -> None:
    user = await sign_up(client, display_name="Ada Lovelace")
    await client.post("/auth/password-reset", json={"email": user.email})
    token = link_token(provider.sent_to(user.email)[-1], "reset-password")
    named = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "newPassword": "Ada Lovelace 1815"}
    )
    [detail] = named.json()["error"]["details"]
    assert (detail["loc"], detail["type"]) == (["body", "newPassword"], "password_too_guessable")
    confirm = {"token": token, "newPassword": NEW_PASSWORD}  # the link survived the refusal
    assert (await client.post("/auth/password-reset/confirm", json=confirm)).status_code == 204


async def test_reset_confirmations_count_against_the_login_limit_per_address(
    settings: Settings, client_for: ClientFactory, provider: FakeEmailProvider
) -> None:
    # Each confirmation may judge a password in the process pool: a client cannot send them
    # without end, whether the link is good or not.
    limited = with_provider(settings, provider).model_copy(
        update={"login_max_attempts_per_address": 3}
    )
    async with client_for(limited) as client:
        user = await sign_up(client)  # its login is the first attempt
        await client.post("/auth/password-reset", json={"email": user.email})
        token = link_token(provider.sent_to(user.email)[-1], "reset-password")
        attempts = [
            await client.post("/auth/password-reset/confirm", json={"token": t, "newPassword": p})
            for t, p in [
                (token, "qwertyuiopasdfgh"),
                ("x" * 43, NEW_PASSWORD),
                (token, NEW_PASSWORD),
            ]
        ]
    assert [r.status_code for r in attempts] == [422, 400, 429]
    assert int(attempts[2].headers["retry-after"]) >= 1
    # The refused attempts changed nothing: the old password still logs in elsewhere.
    async with client_for(settings) as client:
        await log_in(client, user.email, DEFAULT_PASSWORD)


async def test_link_tokens_are_stored_hashed_and_never_logged(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    client_for: ClientFactory,
    provider: FakeEmailProvider,
    database_url: str,
) -> None:
    async with client_for(with_provider(settings, provider)) as client:  # logs to capsys
        user = await sign_up(client)
        await client.post("/auth/password-reset", json={"email": user.email})
    tokens = {
        "email_verification": link_token(provider.sent_to(user.email)[0], "verify-email"),
        "password_reset": link_token(provider.sent_to(user.email)[1], "reset-password"),
    }
    conn = await asyncpg.connect(database_url)
    try:
        stored = {
            row["purpose"]: row["token_hash"]
            for row in await conn.fetch("SELECT purpose, token_hash FROM link_tokens")
        }
    finally:
        await conn.close()
    assert stored == {
        purpose: hashlib.sha256(token.encode()).digest() for purpose, token in tokens.items()
    }
    printed = capsys.readouterr()
    logged = printed.out + printed.err
    assert logged.count('"event": "email_sent"') == 2  # the lines were captured
    for token in tokens.values():
        assert token not in logged


async def test_links_are_rate_limited_per_address_asked_for(
    settings: Settings, client_for: ClientFactory, provider: FakeEmailProvider
) -> None:
    limited = with_provider(settings, provider).model_copy(update={"email_link_max_per_account": 2})
    async with client_for(limited) as client:
        statuses = [
            (await client.post("/auth/password-reset", json={"email": email})).status_code
            for email in ["nobody@example.com"] * 3 + ["someone@example.com"]
        ]
        # The resend counts with the reset: both send links to one inbox.
        resend = await client.post(
            "/auth/verify-email/resend", json={"email": "NOBODY@example.com"}
        )
    assert statuses == [202, 202, 429, 202]
    assert resend.status_code == 429
    assert int(resend.headers["retry-after"]) >= 1


async def test_with_the_setting_on_an_unverified_account_cannot_log_in(
    settings: Settings, client_for: ClientFactory, provider: FakeEmailProvider
) -> None:
    strict = with_provider(settings, provider).model_copy(
        update={"login_requires_verified_email": True}
    )
    async with client_for(strict) as client:
        signup = {"email": "ada@example.com", "password": DEFAULT_PASSWORD, "displayName": "A"}
        assert (await client.post("/auth/signup", json=signup)).status_code == 201
        login = {"username": "ada@example.com", "password": DEFAULT_PASSWORD}
        refused = await client.post("/auth/token", data=login)
        assert error_code(refused) == (403, "email_not_verified")
        wrong = await client.post("/auth/token", data={**login, "password": "wrong password 1"})
        assert error_code(wrong) == (401, "invalid_credentials")  # no hint without the password
        token = link_token(provider.sent_to("ada@example.com")[0], "verify-email")
        assert (await client.post("/auth/verify-email", json={"token": token})).status_code == 204
        assert (await client.post("/auth/token", data=login)).status_code == 200


async def test_changing_the_email_needs_the_password_and_a_new_verification(
    client: httpx.AsyncClient, provider: FakeEmailProvider, settings: Settings
) -> None:
    user = await sign_up(client)
    other = await sign_up(client)
    first = link_token(provider.sent_to(user.email)[0], "verify-email")  # for the old address
    new = "ada.lovelace@example.com"

    await client.post("/auth/password-reset", json={"email": user.email})
    reset = link_token(provider.sent_to(user.email)[-1], "reset-password")
    for body, expected in [
        ({"currentPassword": DEFAULT_PASSWORD, "newEmail": user.email}, (409, "email_unchanged")),
        ({"currentPassword": "not the password 1", "newEmail": new}, (403, "wrong_password")),
        ({"currentPassword": DEFAULT_PASSWORD, "newEmail": other.email}, (409, "email_taken")),
        (
            {"currentPassword": DEFAULT_PASSWORD, "newEmail": "not-an-email"},
            (422, "validation_error"),
        ),
        ({"newEmail": new}, (422, "validation_error")),
        ({"currentPassword": f" {DEFAULT_PASSWORD}", "newEmail": new}, (403, "wrong_password")),
    ]:
        response = await client.post("/users/me/email", json=body, headers=user.headers)
        assert error_code(response) == expected, body
    assert (await me(client, user.headers))["email"] == user.email

    changed = await client.post(
        "/users/me/email",
        json={"currentPassword": DEFAULT_PASSWORD, "newEmail": f"  {new.upper()} "},
        headers=user.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["email"], changed.json()["emailVerified"]) == (new, False)
    [notice] = [e for e in provider.sent_to(user.email) if "changed" in e["subject"]]
    assert notice["subject"] == f"Your {settings.app_name} email address changed"
    assert new in notice["text"]
    # Links sent to the old address do nothing now: whoever reads that inbox cannot take the
    # account back. The link sent to the new one verifies it.
    old_link = await client.post("/auth/verify-email", json={"token": first})
    assert error_code(old_link) == (400, "invalid_link")
    old_reset = await client.post(
        "/auth/password-reset/confirm", json={"token": reset, "newPassword": NEW_PASSWORD}
    )
    assert error_code(old_reset) == (400, "invalid_link")
    [link] = provider.sent_to(new)
    token = link_token(link, "verify-email")
    assert (await client.post("/auth/verify-email", json={"token": token})).status_code == 204
    assert (await me(client, user.headers))["emailVerified"] is True

    old = await client.post(
        "/auth/token", data={"username": user.email, "password": DEFAULT_PASSWORD}
    )
    assert error_code(old) == (401, "invalid_credentials")
    await log_in(client, new)
