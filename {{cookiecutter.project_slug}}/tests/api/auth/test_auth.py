from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import httpx
import jwt
import pytest
from argon2 import PasswordHasher, extract_parameters
from pydantic import ValidationError

from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.users import DEFAULT_PASSWORD, UserFactory, count_users

SIGNUP = {"email": "Ada@Example.com", "password": "analytical engine 1843", "displayName": "Ada"}


async def test_signup_creates_an_account_and_hides_the_hash(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/signup", json=SIGNUP)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "displayName", "role", "emailVerified", "createdAt"}
    assert body["email"] == "ada@example.com"  # normalised
    assert body["displayName"] == "Ada"
    assert (body["role"], body["emailVerified"]) == ("user", False)


async def stored_hash(database_url: str, email: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        password_hash: str = await conn.fetchval(
            "SELECT password_hash FROM users WHERE lower(email) = lower($1)", email
        )
    finally:
        await conn.close()
    return password_hash


def test_the_default_cost_is_argon2_cffis_in_one_lane() -> None:
    # Memory and passes stay at argon2-cffi's defaults, so the work for an attacker does not
    # shrink; one lane keeps a hash on one core (README, "CPU priority").
    settings, defaults = Settings(), PasswordHasher()
    assert settings.password_hash_memory_kib == defaults.memory_cost
    assert settings.password_hash_time_cost == defaults.time_cost


@pytest.mark.parametrize(
    "cost",
    [
        {"password_hash_memory_kib": 19 * 1024 - 1},
        {"password_hash_time_cost": 1},
    ],
)
def test_a_cost_below_owasps_least_is_refused(cost: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        Settings(**cost)  # type: ignore[arg-type]


async def test_passwords_are_hashed_in_one_lane_at_the_configured_cost(
    settings: Settings, client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await client.post("/auth/signup", json=SIGNUP)).status_code == 201
    parameters = extract_parameters(await stored_hash(database_url, SIGNUP["email"]))
    assert parameters.parallelism == 1
    assert parameters.memory_cost == settings.password_hash_memory_kib
    assert parameters.time_cost == settings.password_hash_time_cost


async def test_hashes_made_with_other_parameters_log_in_and_are_rehashed(
    settings: Settings, client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await client.post("/auth/signup", json=SIGNUP)).status_code == 201
    old_hash = PasswordHasher(parallelism=4).hash(SIGNUP["password"])
    conn = await asyncpg.connect(database_url)
    try:
        updated = await conn.execute(
            "UPDATE users SET password_hash = $1 WHERE lower(email) = lower($2)",
            old_hash,
            SIGNUP["email"],
        )
    finally:
        await conn.close()
    assert updated == "UPDATE 1"
    login = {"username": SIGNUP["email"], "password": SIGNUP["password"]}
    wrong = {**login, "password": "not-the-password-1"}
    assert (await client.post("/auth/token", data=wrong)).status_code == 401
    assert await stored_hash(database_url, SIGNUP["email"]) == old_hash  # no rehash on a failure
    assert (await client.post("/auth/token", data=login)).status_code == 200
    # Rehashed at today's cost by the login that proved the password, and it still logs in.
    parameters = extract_parameters(await stored_hash(database_url, SIGNUP["email"]))
    assert parameters.parallelism == 1
    assert parameters.memory_cost == settings.password_hash_memory_kib
    assert parameters.time_cost == settings.password_hash_time_cost
    assert (await client.post("/auth/token", data=login)).status_code == 200
    assert (await client.post("/auth/token", data=wrong)).status_code == 401


async def test_duplicate_email_is_409_and_writes_no_second_row(
    client: httpx.AsyncClient, database_url: str
) -> None:
    assert (await client.post("/auth/signup", json=SIGNUP)).status_code == 201
    again = await client.post("/auth/signup", json={**SIGNUP, "email": "ADA@example.COM"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"
    assert await count_users(database_url) == 1


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"email": "not-an-email"}, ["body", "email"]),
        ({"password": "short1"}, ["body", "password"]),
        ({"password": "fourteen chars"}, ["body", "password"]),
        ({"password": "111111111111111a"}, ["body", "password"]),
        ({"password": "qwertyuiopasdfgh"}, ["body", "password"]),
        ({"password": "ada@example.com2026"}, ["body", "password"]),
        ({"password": "x1" * 65}, ["body", "password"]),
        ({"displayName": ""}, ["body", "displayName"]),
        ({"displayName": "x" * 51}, ["body", "displayName"]),
        ({"displayName": 42}, ["body", "displayName"]),
        ({"displayName": "Ada\x00"}, ["body", "displayName"]),
        ({"isAdmin": True}, ["body", "isAdmin"]),
    ],
)
async def test_invalid_signup_is_422_and_writes_nothing(
    client: httpx.AsyncClient, database_url: str, change: dict[str, object], loc: list[str]
) -> None:
    response = await client.post("/auth/signup", json={**SIGNUP, **change})
    assert response.status_code == 422
    assert loc in [detail["loc"] for detail in response.json()["error"]["details"]]
    assert await count_users(database_url) == 0


async def test_missing_fields_are_each_reported(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/signup", json={})
    locs = [detail["loc"] for detail in response.json()["error"]["details"]]
    assert sorted(locs) == [["body", "displayName"], ["body", "email"], ["body", "password"]]


async def test_login_returns_a_bearer_token(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user(email="grace@example.com")
    response = await client.post(
        "/auth/token", data={"username": "Grace@Example.com", "password": user.password}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["refresh_expires_in"] == 30 * 24 * 3600
    assert len(body["refresh_token"]) == 43  # 256 random bits, URL-safe base64
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "sub", "sid", "jti", "iat", "exp", "type"}
    assert claims["iss"] == claims["aud"] == "{{ cookiecutter.project_slug }}"
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["email"] == "grace@example.com"


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    wrong = await client.post(
        "/auth/token", data={"username": user.email, "password": "wrong password 1"}
    )
    unknown = await client.post(
        "/auth/token", data={"username": "nobody@example.com", "password": DEFAULT_PASSWORD}
    )
    # A NUL cannot be stored, so no account has one: unknown as well, not a database error.
    impossible = await client.post(
        "/auth/token", data={"username": "no\x00body@example.com", "password": DEFAULT_PASSWORD}
    )
    for response in (wrong, unknown, impossible):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "invalid_credentials"
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


def forged(settings: Settings, *, key: str | None = None, **claims: object) -> str:
    """An access token like the service's own, signed with SECRET_KEY, with `claims` changed
    (a claim given as None is left out)."""
    now = datetime.now(UTC)
    payload = {
        "iss": settings.token_issuer,
        "aud": settings.token_audience,
        "sub": str(uuid4()),
        "sid": str(uuid4()),
        "jti": uuid4().hex,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "type": "access",
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key or settings.signing_key, algorithm="HS256")


def bad_tokens(settings: Settings, user_id: str, session_id: str) -> dict[str, str]:
    past = datetime.now(UTC) - timedelta(hours=1)
    mine = {"sub": user_id, "sid": session_id}
    return {
        "malformed": "not-a-jwt",
        "expired": forged(settings, **mine, iat=past - timedelta(minutes=5), exp=past),
        "wrong signature": forged(settings, **mine, key="another-key-that-is-long-enough-32b"),
        "alg none": jwt.encode(
            jwt.decode(forged(settings, **mine), options={"verify_signature": False}),
            None,
            algorithm="none",
        ),
        "wrong type": forged(settings, **mine, type="refresh"),
        "wrong issuer": forged(settings, **mine, iss="another-service"),
        "wrong audience": forged(settings, **mine, aud="another-service"),
        "sub not a uuid": forged(settings, sub="42", sid=session_id),
        "sid not a uuid": forged(settings, sub=user_id, sid="42"),
        "sid a number": forged(settings, sub=user_id, sid=42),
        "no such user": forged(settings, sid=session_id),
        "no such session": forged(settings, sub=user_id),
        **{
            f"missing {claim}": forged(settings, **{**mine, claim: None})
            for claim in ("iss", "aud", "sub", "sid", "jti", "exp", "iat", "type")
        },
    }


async def test_every_kind_of_bad_token_is_401(
    client: httpx.AsyncClient, make_user: UserFactory, settings: Settings
) -> None:
    user = await make_user()
    me = await client.get("/users/me/sessions", headers=user.headers)
    [session] = me.json()
    for case, token in bad_tokens(settings, user.id, session["id"]).items():
        response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, case
        assert response.headers["www-authenticate"] == "Bearer", case
        assert response.json()["error"]["code"] == "invalid_token", case


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"


async def test_a_password_is_kept_exactly_as_sent(client: httpx.AsyncClient) -> None:
    # Spaces at either end are part of the password: sign-up, login and a change agree on it.
    padded = "  correct horse 42  "
    signup = await client.post(
        "/auth/signup", json={"email": "pad@example.com", "password": padded, "displayName": "P"}
    )
    assert signup.status_code == 201
    stripped = await client.post(
        "/auth/token", data={"username": "pad@example.com", "password": padded.strip()}
    )
    exact = await client.post(
        "/auth/token", data={"username": "pad@example.com", "password": padded}
    )
    assert (stripped.status_code, exact.status_code) == (401, 200)


async def test_a_password_change_follows_the_sign_up_rules(
    client: httpx.AsyncClient, make_user: UserFactory
) -> None:
    user = await make_user()
    weak = await client.post(
        "/users/me/password",
        json={"currentPassword": user.password, "newPassword": "aaaaaaaaaaaa"},
        headers=user.headers,
    )
    assert weak.status_code == 422
    assert weak.json()["error"]["details"][0]["loc"] == ["body", "newPassword"]
    # Long enough, but built from the account's own address.
    guessable = await client.post(
        "/users/me/password",
        json={"currentPassword": user.password, "newPassword": f"{user.email}2026"},
        headers=user.headers,
    )
    [detail] = guessable.json()["error"]["details"]
    assert (detail["loc"], detail["type"]) == (["body", "newPassword"], "password_too_guessable")
