"""SQL injection payloads through every string the API accepts: data stays intact.

Every query is parameterised, so a payload is either refused by validation (4xx) or stored and
returned exactly as sent. Nothing answers 5xx, no table loses or gains a row it should not, and
no payload logs anyone in. The first test finds every string input in the OpenAPI schema, so a
new domain's routes are covered without editing it; the others check, route by route, that what
was accepted was stored exactly as sent. The audit trail, where every project keeps free text
that a domain chooses, is written through a test-only route (tests/helpers/routes.py) and read
back through the app's own routes.
"""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import ClientFactory
from tests.helpers.database import APP_TABLES
from tests.helpers.routes import AUDIT_EVENTS_PATH, add_audit_event_routes

PAYLOADS = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "admin'--",
    "1; DELETE FROM users WHERE 1=1",
    "'); TRUNCATE audit_events; --",
    "$$; DROP TABLE audit_events; $$",
    "%' OR 'x' LIKE '%",
    "\\'; DROP TABLE users; --",
    "' UNION SELECT password_hash FROM users --",
    "1' AND (SELECT count(*) FROM users) > 0 --",
    "\u2018 OR \u20181\u2019=\u20181",  # curly quotes
    "\u02bc OR 1=1 --",  # modifier letter apostrophe
    "\uff07 OR \uff071\uff07=\uff071",  # fullwidth apostrophe
]
# Passwords must have 15+ characters that zxcvbn finds hard to guess: these pass and are stored
# (hashed).
PASSWORD_PAYLOADS = [
    "' OR '1'='1' --",
    "'; DROP TABLE users; -- 1",
    "\u2018 OR \u20181\u2019=\u20181 xyz",
]
PASSWORD = "analytical engine 1843"


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def client(settings: Settings, client_for: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    # Many logins on purpose: raise the brute-force limits out of the way.
    relaxed = settings.model_copy(
        update={
            "login_max_attempts_per_account_and_address": 1000,
            "login_max_failures_per_account": 1000,
            "login_max_attempts_per_address": 1000,
        }
    )
    async with client_for(relaxed, add_audit_event_routes) as client:
        yield client


async def row_counts(db: asyncpg.Connection) -> dict[str, int]:
    """Rows per table of the app; raises if a table is gone."""
    tables = [row[0] for row in await db.fetch(APP_TABLES)]
    return {
        table: await db.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - catalog names
        for table in tables
    }


def nonempty(counts: dict[str, int]) -> dict[str, int]:
    return {table: count for table, count in counts.items() if count}


async def all_rows(db: asyncpg.Connection) -> dict[str, list[dict[str, Any]]]:
    tables = [row[0] for row in await db.fetch(APP_TABLES)]
    return {
        table: [dict(row) for row in await db.fetch(f"SELECT * FROM {table}")]  # noqa: S608
        for table in tables
    }


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return resolve(spec["components"]["schemas"][name], spec)
    return schema


def is_string(schema: dict[str, Any], spec: dict[str, Any]) -> bool:
    schema = resolve(schema, spec)
    options = schema.get("anyOf", [schema])
    return any(resolve(option, spec).get("type") == "string" for option in options)


def filler(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A plain valid-looking value for a required field that is not a string."""
    schema = resolve(schema, spec)
    kind = str(schema.get("type"))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    return {"boolean": False, "array": [], "object": {}}.get(kind)


def requests_for(spec: dict[str, Any], payload: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, httpx arguments) putting `payload` in every string input of each operation."""
    for template, operations in spec["paths"].items():
        for method, operation in operations.items():
            path, params = template, {}
            for parameter in operation.get("parameters", []):
                value = payload if is_string(parameter["schema"], spec) else "1"
                if parameter["in"] == "path":
                    path = path.replace("{" + parameter["name"] + "}", quote(value, safe=""))
                elif parameter["in"] == "query":
                    params[parameter["name"]] = value
            arguments: dict[str, Any] = {"params": params}
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                body_schema = resolve(content["schema"], spec)
                required = set(body_schema.get("required", []))
                body = {
                    name: payload if is_string(field, spec) else filler(field, spec)
                    for name, field in body_schema.get("properties", {}).items()
                    if is_string(field, spec) or name in required
                }
                key = "json" if media_type == "application/json" else "data"
                arguments[key] = body
            yield method.upper(), path, arguments


def assert_never_5xx(responses: list[httpx.Response]) -> None:
    for response in responses:
        assert response.status_code < 500, (response.request.url, response.text)


async def sign_up(client: httpx.AsyncClient, **values: str) -> httpx.Response:
    body = {"email": "ada@example.com", "password": PASSWORD, "displayName": "Ada", **values}
    return await client.post("/auth/signup", json=body)


async def log_in(client: httpx.AsyncClient, email: str, password: str, **extra: str) -> Any:
    return await client.post("/auth/token", data={"username": email, "password": password, **extra})


async def token_for(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, str]:
    response = await log_in(client, email, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# Operations that end the caller's session: run last in each round, like deletions.
ENDS_SESSION = {"/auth/logout", "/auth/logout-all"}


async def test_every_string_input_in_the_schema_is_safe_with_each_payload(
    client: httpx.AsyncClient, db: asyncpg.Connection, settings: Settings
) -> None:
    assert (await sign_up(client, email="victim@example.com")).status_code == 201
    assert (await sign_up(client)).status_code == 201
    attacker_id = (
        await client.get("/users/me", headers=await token_for(client, "ada@example.com"))
    ).json()["id"]
    spec = create_app(settings).openapi()  # the schema, whether or not this environment serves it
    before = await all_rows(db)

    responses = []
    for payload in PAYLOADS:
        # A session per round: the round's last operations end it, or delete the caller.
        attacker = await token_for(client, "ada@example.com")
        planned = sorted(
            requests_for(spec, payload),
            key=lambda request: (request[0] == "DELETE", request[1] in ENDS_SESSION),
        )
        for method, path, arguments in planned:
            responses.append(await client.request(method, path, headers=attacker, **arguments))
    assert_never_5xx(responses)
    assert any(response.is_success for response in responses if response.request.content)

    # Every table is still there, and every row that was not the attacker's own is unchanged:
    # the attacker's rows are those naming their id or one of their sessions.
    after = await all_rows(db)
    assert set(after) == set(before)
    own = {attacker_id} | {
        str(row["id"])
        for row in before["sessions"] + after["sessions"]
        if str(row["user_id"]) == attacker_id
    }
    for table, rows in before.items():
        untouched = [row for row in rows if not own & set(map(str, row.values()))]
        assert all(row in after[table] for row in untouched), table


async def test_signup_fields_store_payloads_verbatim_or_refuse_them(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    accepted = logins = 0
    responses = []
    for n, payload in enumerate(PAYLOADS):
        email = f"name{n}@example.com"
        response = await sign_up(client, email=email, displayName=payload)
        assert response.status_code == 201, response.text
        assert response.json()["displayName"] == payload
        stored = await db.fetchval("SELECT display_name FROM users WHERE email = $1", email)
        assert stored == payload
        accepted += 1
        # As an email: refused by validation, or (quotes are legal in addresses) stored as is.
        as_email = await sign_up(client, email=f"{payload}@example.com")
        responses.append(as_email)
        if as_email.status_code == 201:
            accepted += 1
            assert as_email.json()["email"] == f"{payload}@example.com".lower()
        else:
            assert as_email.status_code == 422
        # As a password: refused if too weak, else stored (hashed) and usable as typed.
        as_password = await sign_up(client, email=f"pw-{n}@example.com", password=payload)
        responses.append(as_password)
        if as_password.status_code == 201:
            accepted += 1
            assert (await log_in(client, f"pw-{n}@example.com", payload)).status_code == 200
            logins += 1
        else:
            assert as_password.status_code == 422
    for n, payload in enumerate(PASSWORD_PAYLOADS):
        email = f"strong-{n}@example.com"
        assert (await sign_up(client, email=email, password=payload)).status_code == 201
        accepted += 1
        assert (await log_in(client, email, payload)).status_code == 200  # the literal password
        logins += 1
    assert_never_5xx(responses)
    counts = await row_counts(db)
    # One user, sign-up event and verification link each, a session per login, nothing else.
    assert nonempty(counts) == {
        "users": accepted,
        "audit_events": accepted,
        "link_tokens": accepted,
        "sessions": logins,
        "refresh_tokens": logins,
    }


async def test_login_fields_never_authenticate_a_payload(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    assert (await sign_up(client)).status_code == 201
    responses = []
    for payload in PAYLOADS:
        responses += [
            await log_in(client, payload, payload),
            await log_in(client, "ada@example.com", payload),
        ]
        # The other OAuth2 form fields: refused (grant_type) or ignored (scope, client id/secret).
        grant = await log_in(client, "ada@example.com", PASSWORD, grant_type=payload)
        assert grant.status_code == 422
    ignored = await log_in(
        client,
        "ada@example.com",
        PASSWORD,
        scope=PAYLOADS[0],
        client_id=PAYLOADS[1],
        client_secret=PAYLOADS[2],
    )
    assert ignored.status_code == 200
    assert_never_5xx(responses)
    assert {r.status_code for r in responses} == {401}
    assert all("access_token" not in r.text for r in responses)
    counts = await row_counts(db)
    assert (counts["users"], counts["audit_events"]) == (1, 1)


async def test_user_update_fields_store_payloads_verbatim(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    assert (await sign_up(client)).status_code == 201
    headers = await token_for(client, "ada@example.com")
    for payload in PAYLOADS:
        response = await client.patch("/users/me", headers=headers, json={"displayName": payload})
        assert response.status_code == 200, response.text
        assert (await client.get("/users/me", headers=headers)).json()["displayName"] == payload
        stored = await db.fetchval("SELECT display_name FROM users")
        assert stored == payload
    current = PASSWORD
    for payload in PASSWORD_PAYLOADS:
        change = {"currentPassword": current, "newPassword": payload}
        response = await client.post("/users/me/password", headers=headers, json=change)
        assert response.status_code == 204, response.text
        assert (await log_in(client, "ada@example.com", payload)).status_code == 200
        current = payload
    short = {"currentPassword": current, "newPassword": "' OR 1=1"}
    assert (await client.post("/users/me/password", headers=headers, json=short)).status_code == 422
    # The sign-up and each password change are audited; each change ended the session before
    # and revoked the sign-up's verification link.
    assert nonempty(await row_counts(db)) == {
        "users": 1,
        "audit_events": 1 + len(PASSWORD_PAYLOADS),
        "sessions": 2,
        "refresh_tokens": 2,
    }


async def test_audit_event_fields_store_payloads_verbatim(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    assert (await sign_up(client, email="victim@example.com")).status_code == 201
    victim = await token_for(client, "victim@example.com")
    kept = await client.post(
        AUDIT_EVENTS_PATH, headers=victim, json={"event": "mine", "data": {"note": "Keep me"}}
    )
    assert kept.status_code == 204
    assert (await sign_up(client)).status_code == 201
    headers = await token_for(client, "ada@example.com")

    for payload in PAYLOADS:
        recorded = await client.post(
            AUDIT_EVENTS_PATH,
            headers=headers,
            json={"event": payload, "data": {payload: payload, "note": f"{payload} (noted)"}},
        )
        assert recorded.status_code == 204, recorded.text
        row = await db.fetchrow(
            "SELECT event, data FROM audit_events WHERE event = $1 ORDER BY id DESC LIMIT 1",
            payload,
        )
        assert row is not None
        assert json.loads(row["data"]) == {payload: payload, "note": f"{payload} (noted)"}

    page = await client.get("/audit-events", headers=headers, params={"limit": 100})
    events = [event for event in page.json()["items"] if event["event"] != "user.signed_up"]
    assert [event["event"] for event in events] == PAYLOADS[::-1]  # newest first
    for event in events:
        read = await client.get(f"/audit-events/{event['id']}", headers=headers)
        assert read.json() == event
        payload = event["event"]
        assert event["data"] == {payload: payload, "note": f"{payload} (noted)"}
    counts = await row_counts(db)
    assert nonempty(counts) == {
        "users": 2,
        "audit_events": len(PAYLOADS) + 3,  # + 2 sign-ups
        "link_tokens": 2,
        "sessions": 2,
        "refresh_tokens": 2,
    }
    victim_events = (await client.get("/audit-events", headers=victim)).json()["items"]
    assert [(event["event"], event["data"]) for event in victim_events] == [
        ("mine", {"note": "Keep me"}),
        ("user.signed_up", {"email": "victim@example.com"}),
    ]


async def test_password_strength_fields_are_judged_and_stored_nowhere(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    before = await row_counts(db)
    responses = []
    for payload in PAYLOADS:
        body = {"password": payload, "userInputs": [payload, f"{payload}@example.com"]}
        response = await client.post("/auth/password-strength", json=body)
        assert response.status_code == 200, response.text
        assert 0 <= response.json()["score"] <= 4
        responses.append(response)
    assert_never_5xx(responses)
    assert await row_counts(db) == before


async def test_query_path_and_header_values_are_refused_or_ignored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    assert (await sign_up(client)).status_code == 201
    headers = await token_for(client, "ada@example.com")
    before = await row_counts(db)
    responses = []
    for payload in PAYLOADS:
        for params in ({"limit": payload}, {"offset": payload}):
            refused = await client.get("/audit-events", headers=headers, params=params)
            assert refused.status_code == 422
            responses.append(refused)
        ignored = await client.get("/audit-events", headers=headers, params={"sort": payload})
        assert ignored.status_code == 200
        by_id = await client.get(f"/audit-events/{quote(payload, safe='')}", headers=headers)
        assert by_id.status_code in (404, 422), by_id.request.url
        responses.append(by_id)
        as_token = await client.get(
            "/users/me", headers={b"Authorization": b"Bearer " + payload.encode()}
        )
        assert as_token.status_code == 401
        as_request_id = await client.get(
            "/health/live", headers={b"X-Request-ID": payload.encode()}
        )
        assert as_request_id.headers["x-request-id"] != payload
        responses += [as_token, as_request_id]
{%- if cookiecutter.include_celery == 'y' %}
        for body in ({"maxAuditEvents": payload}, {"kind": payload}):
            job = await client.post("/jobs/account-export", headers=headers, json=body)
            assert job.status_code == 422
            responses.append(job)
        for path in (f"/jobs/{quote(payload, safe='')}", f"/jobs?limit={quote(payload)}"):
            response = await client.get(path, headers=headers)
            assert response.status_code in (404, 422), path
            responses.append(response)
{%- endif %}
    assert_never_5xx(responses)
    assert await row_counts(db) == before
