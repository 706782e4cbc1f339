"""SQL injection payloads through every string the API accepts: data stays intact.

Every query is parameterised, so a payload is either refused by validation (4xx) or stored and
returned exactly as sent. Nothing answers 5xx, no table loses or gains a row it should not, and
no payload logs anyone in. The first test finds every string input in the OpenAPI schema, so a
new domain's routes are covered without editing it; the others check, route by route, that what
was accepted was stored exactly as sent.
"""

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

PAYLOADS = [
    "'; DROP TABLE users; --",
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "admin'--",
    "1; DELETE FROM posts WHERE 1=1",
    "'); TRUNCATE audit_events; --",
    "$$; DROP TABLE posts; $$",
    "%' OR 'x' LIKE '%",
    "\\'; DROP TABLE users; --",
    "' UNION SELECT password_hash FROM users --",
    "1' AND (SELECT count(*) FROM users) > 0 --",
    "\u2018 OR \u20181\u2019=\u20181",  # curly quotes
    "\u02bc OR 1=1 --",  # modifier letter apostrophe
    "\uff07 OR \uff071\uff07=\uff071",  # fullwidth apostrophe
]
# Passwords must have 12+ characters, a letter and a digit: these pass and are stored (hashed).
PASSWORD_PAYLOADS = [
    "' OR '1'='1' --",
    "'; DROP TABLE users; -- 1",
    "\u2018 OR \u20181\u2019=\u20181 x",
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
        update={"login_max_attempts_per_account": 1000, "login_max_attempts_per_address": 1000}
    )
    async with client_for(relaxed) as client:
        yield client


async def row_counts(db: asyncpg.Connection) -> dict[str, int]:
    """Rows per table of the app; raises if a table is gone."""
    tables = [row[0] for row in await db.fetch(APP_TABLES)]
    return {
        table: await db.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - catalog names
        for table in tables
    }


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


async def test_every_string_input_in_the_schema_is_safe_with_each_payload(
    client: httpx.AsyncClient, db: asyncpg.Connection, settings: Settings
) -> None:
    assert (await sign_up(client, email="victim@example.com")).status_code == 201
    assert (await sign_up(client)).status_code == 201
    attacker = await token_for(client, "ada@example.com")
    attacker_id = (await client.get("/users/me", headers=attacker)).json()["id"]
    spec = create_app(settings).openapi()  # the schema, whether or not this environment serves it
    before = await all_rows(db)

    responses = []
    for payload in PAYLOADS:
        # Deleting last: an operation that removed the caller would log the attacker out.
        planned = sorted(requests_for(spec, payload), key=lambda request: request[0] == "DELETE")
        for method, path, arguments in planned:
            responses.append(await client.request(method, path, headers=attacker, **arguments))
    assert_never_5xx(responses)
    assert any(response.is_success for response in responses if response.request.content)

    # Every table is still there, and every row that was not the attacker's own is unchanged.
    after = await all_rows(db)
    assert set(after) == set(before)
    for table, rows in before.items():
        untouched = [row for row in rows if str(attacker_id) not in map(str, row.values())]
        assert all(row in after[table] for row in untouched), table


async def test_signup_fields_store_payloads_verbatim_or_refuse_them(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    accepted = 0
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
        else:
            assert as_password.status_code == 422
    for n, payload in enumerate(PASSWORD_PAYLOADS):
        email = f"strong-{n}@example.com"
        assert (await sign_up(client, email=email, password=payload)).status_code == 201
        accepted += 1
        assert (await log_in(client, email, payload)).status_code == 200  # the literal password
    assert_never_5xx(responses)
    counts = await row_counts(db)
    assert counts["users"] == accepted
    assert counts["audit_events"] == accepted  # one signup event each, nothing else
    assert counts["posts"] == 0


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
    for payload in PASSWORD_PAYLOADS:
        response = await client.patch("/users/me", headers=headers, json={"password": payload})
        assert response.status_code == 200, response.text
        assert (await log_in(client, "ada@example.com", payload)).status_code == 200
    short = await client.patch("/users/me", headers=headers, json={"password": "' OR 1=1"})
    assert short.status_code == 422
    counts = await row_counts(db)
    assert counts["users"] == 1
    assert counts["posts"] == 0


async def test_post_fields_store_payloads_verbatim(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    assert (await sign_up(client, email="victim@example.com")).status_code == 201
    victim = await token_for(client, "victim@example.com")
    kept = await client.post("/posts", headers=victim, json={"title": "Mine", "body": "Keep me"})
    assert kept.status_code == 201
    assert (await sign_up(client)).status_code == 201
    headers = await token_for(client, "ada@example.com")

    for payload in PAYLOADS:
        created = await client.post(
            "/posts", headers=headers, json={"title": payload, "body": payload}
        )
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
        assert created.json()["title"] == payload
        changed = await client.patch(
            f"/posts/{post_id}", headers=headers, json={"body": f"{payload} (edited)"}
        )
        assert changed.status_code == 200
        row = await db.fetchrow("SELECT title, body FROM posts WHERE id = $1", changed.json()["id"])
        assert row is not None
        assert dict(row) == {"title": payload, "body": f"{payload} (edited)"}

    page = await client.get("/posts", headers=headers, params={"limit": 100})
    assert {item["title"] for item in page.json()["items"]} == set(PAYLOADS)
    counts = await row_counts(db)
    assert counts["users"] == 2
    assert counts["posts"] == len(PAYLOADS) + 1
    victim_post = await client.get(f"/posts/{kept.json()['id']}", headers=victim)
    assert victim_post.json()["body"] == "Keep me"


async def test_query_path_and_header_values_are_refused_or_ignored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    assert (await sign_up(client)).status_code == 201
    headers = await token_for(client, "ada@example.com")
    before = await row_counts(db)
    responses = []
    for payload in PAYLOADS:
        for params in ({"limit": payload}, {"offset": payload}):
            refused = await client.get("/posts", headers=headers, params=params)
            assert refused.status_code == 422
            responses.append(refused)
        ignored = await client.get("/posts", headers=headers, params={"sort": payload})
        assert ignored.status_code == 200
        for path in (
            f"/posts/{quote(payload, safe='')}",
            f"/posts/{quote(payload, safe='')}/analysis",
        ):
            response = await client.get(path, headers=headers)
            assert response.status_code in (404, 422), path
            responses.append(response)
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
        for body in ({"maxPosts": payload}, {"similarityThreshold": payload}, {"kind": payload}):
            job = await client.post("/jobs", headers=headers, json=body)
            assert job.status_code == 422
            responses.append(job)
        for path in (f"/jobs/{quote(payload, safe='')}", f"/jobs?limit={quote(payload)}"):
            response = await client.get(path, headers=headers)
            assert response.status_code in (404, 422), path
            responses.append(response)
{%- endif %}
    assert_never_5xx(responses)
    assert await row_counts(db) == before
