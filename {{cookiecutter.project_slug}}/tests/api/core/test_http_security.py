"""Security headers on every response, CORS from settings, and the trusted-host check."""

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Response
from starlette.types import Message, Receive, Scope, Send

from {{ cookiecutter.project_slug }}.core.http_security import (
    API_CSP,
    DOCS_CSP,
    HealthExemptTrustedHostMiddleware,
)
from {{ cookiecutter.project_slug }}.core.schemas import CustomBaseModel
from {{ cookiecutter.project_slug }}.core.settings import Environment, Settings

from tests.helpers.apps import ClientFactory

STRONG_KEY = "k" * 48
APP_ORIGIN = "https://app.example.com"
CACHEABLE = "public, max-age=60"
ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
}


class Item(CustomBaseModel):
    name: str


def add_test_routes(app: FastAPI) -> None:
    router = APIRouter(prefix="/test")

    @router.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    @router.post("/items")
    async def create_item(item: Item) -> dict[str, str]:
        return {"name": item.name}

    @router.get("/cacheable")
    async def cacheable() -> Response:
        return Response("{}", media_type="application/json", headers={"Cache-Control": CACHEABLE})

    @router.get("/crash")
    async def crash() -> None:
        msg = "boom"
        raise RuntimeError(msg)

    app.include_router(router)


def reconfigured(settings: Settings, **values: Any) -> Settings:
    """`settings` with other values, validated as the app would validate them at startup."""
    return Settings(_env_file=None, **{**settings.model_dump(), **values})


def production(settings: Settings, **values: Any) -> Settings:
    hardened = {
        "environment": Environment.PRODUCTION,
        "secret_key": STRONG_KEY,
        "trusted_hosts": ["test"],  # the test client's Host
    }
    return reconfigured(settings, **{**hardened, **values})


def assert_hardened(response: httpx.Response, *, hsts: bool) -> None:
    for name, value in ALWAYS.items():
        assert response.headers.get(name) == value, name
    assert response.headers["content-security-policy"] == API_CSP
    assert ("strict-transport-security" in response.headers) is hsts


async def responses_of_every_kind(client: httpx.AsyncClient) -> dict[int, httpx.Response]:
    return {
        200: await client.get("/test/ok"),
        404: await client.get("/no/such/route"),
        422: await client.post("/test/items", json={"name": 3}),
        500: await client.get("/test/crash"),
    }


async def test_every_response_carries_the_security_headers(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings, add_test_routes) as client:
        responses = await responses_of_every_kind(client)
    assert {status: r.status_code for status, r in responses.items()} == {
        200: 200,
        404: 404,
        422: 422,
        500: 500,
    }
    for response in responses.values():
        assert_hardened(response, hsts=False)


@pytest.mark.parametrize("environment", [Environment.STAGING, Environment.PRODUCTION])
async def test_hsts_is_sent_in_staging_and_production(
    settings: Settings, client_for: ClientFactory, environment: Environment
) -> None:
    configured = production(settings, environment=environment)
    async with client_for(configured, add_test_routes) as client:
        responses = await responses_of_every_kind(client)
    for response in responses.values():
        assert_hardened(response, hsts=True)
        assert response.headers["strict-transport-security"].startswith("max-age=63072000")


async def test_a_header_the_route_sets_is_kept(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings, add_test_routes) as client:
        response = await client.get("/test/cacheable")
    assert response.headers.get_list("cache-control") == [CACHEABLE]
    assert response.headers["x-frame-options"] == "DENY"


def directives(csp: str) -> dict[str, set[str]]:
    parsed: dict[str, set[str]] = {}
    for part in csp.split(";"):
        name, *sources = part.split()
        parsed[name] = set(sources)
    return parsed


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "'self'"


def attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'{name}="([^"]*)"', tag)
    return found.group(1) if found else None


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_pages_get_a_policy_that_lets_them_load(
    settings: Settings, client_for: ClientFactory, path: str
) -> None:
    local = reconfigured(settings, environment=Environment.LOCAL)
    async with client_for(local) as client:
        page = await client.get(path)
        spec = await client.get("/openapi.json")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == DOCS_CSP
    assert page.headers["x-frame-options"] == "DENY"
    policy = directives(DOCS_CSP)
    html = page.text
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts
    for src in scripts:
        assert origin(src) in policy["script-src"], src
    if re.search(r"<script>", html):  # the inline start-up script
        assert "'unsafe-inline'" in policy["script-src"]
    for tag in re.findall(r"<link\b[^>]*>", html):
        href, rel = attribute(tag, "href"), attribute(tag, "rel")
        assert href is not None
        kind = "style-src" if rel == "stylesheet" else "img-src"
        assert origin(href) in policy[kind], href
    assert "'self'" in policy["connect-src"]  # the page fetches /openapi.json
    # The spec itself is JSON: the strict policy.
    assert spec.headers["content-security-policy"] == API_CSP


async def test_docs_policy_is_not_used_where_docs_are_off(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings) as client:  # environment "test": no docs
        response = await client.get("/docs")
    assert response.status_code == 404
    assert response.headers["content-security-policy"] == API_CSP


async def test_no_cors_headers_by_default(settings: Settings, client_for: ClientFactory) -> None:
    async with client_for(settings) as client:
        simple = await client.get("/health/live", headers={"Origin": APP_ORIGIN})
        preflight = await client.options(
            "/users/me",
            headers={"Origin": APP_ORIGIN, "Access-Control-Request-Method": "PATCH"},
        )
    assert simple.status_code == 200
    assert preflight.status_code == 405
    assert preflight.json()["error"]["code"] == "method_not_allowed"
    for response in (simple, preflight):
        assert not any(name.startswith("access-control-") for name in response.headers)


async def test_configured_origins_get_cors_headers(
    settings: Settings, client_for: ClientFactory
) -> None:
    allowing = reconfigured(settings, cors_origins=[APP_ORIGIN])
    async with client_for(allowing, add_test_routes) as client:
        simple = await client.get("/health/live", headers={"Origin": APP_ORIGIN})
        crash = await client.get("/test/crash", headers={"Origin": APP_ORIGIN})
        preflight = await client.options(
            "/users/me",
            headers={
                "Origin": APP_ORIGIN,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
    assert simple.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    assert "access-control-allow-credentials" not in simple.headers
    # Error responses too, so a browser client can read the error body and request id.
    assert crash.status_code == 500
    assert crash.headers["access-control-allow-origin"] == APP_ORIGIN
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers
    assert_hardened(preflight, hsts=False)


async def test_other_origins_get_no_cors_headers(
    settings: Settings, client_for: ClientFactory
) -> None:
    allowing = reconfigured(settings, cors_origins=[APP_ORIGIN])
    async with client_for(allowing) as client:
        simple = await client.get("/health/live", headers={"Origin": "https://evil.example"})
        preflight = await client.options(
            "/users/me",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PATCH"},
        )
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


async def test_a_trusted_host_is_served(settings: Settings, client_for: ClientFactory) -> None:
    hosts = reconfigured(settings, trusted_hosts=["api.example.com", "*.internal.example.com"])
    async with client_for(hosts, add_test_routes) as client:
        exact = await client.get("/test/ok", headers={"Host": "api.example.com"})
        with_port = await client.get("/test/ok", headers={"Host": "api.example.com:8443"})
        pattern = await client.get("/test/ok", headers={"Host": "eu.internal.example.com"})
    assert [exact.status_code, with_port.status_code, pattern.status_code] == [200, 200, 200]


async def test_host_names_are_compared_without_letter_case_and_wildcards_need_a_subdomain(
    settings: Settings, client_for: ClientFactory
) -> None:
    hosts = reconfigured(
        settings, trusted_hosts=["API.example.com", "*.internal.example.com", "[::1]"]
    )
    cases = {
        "api.EXAMPLE.com": 200,
        "EU.Internal.Example.com:443": 200,
        "[::1]:8000": 200,
        "internal.example.com": 400,  # the bare domain is not a subdomain of itself
        "evilinternal.example.com": 400,
        "api.example.com.evil.example": 400,
        # Malformed Host headers that a loose "cut at the first colon" check would let through.
        "api.example.com:x": 400,
        "api.example.com:@evil.example": 400,
        "evil.example#.internal.example.com": 400,
        "evil.example/.internal.example.com": 400,
    }
    async with client_for(hosts, add_test_routes) as client:
        statuses = {
            host: (await client.get("/test/ok", headers={"Host": host})).status_code
            for host in cases
        }
    assert statuses == cases


async def test_a_request_without_a_host_header_is_refused() -> None:
    reached: list[str] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["path"])

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    check = HealthExemptTrustedHostMiddleware(app, ["api.example.com"])
    scope = {"type": "http", "method": "GET", "path": "/users/me", "headers": [], "state": {}}
    await check(scope, receive, send)
    assert reached == []
    assert sent[0]["status"] == 400


async def test_an_untrusted_host_gets_starlettes_refusal(
    settings: Settings, client_for: ClientFactory
) -> None:
    hosts = reconfigured(settings, trusted_hosts=["api.example.com"])
    async with client_for(hosts, add_test_routes) as client:
        response = await client.get("/test/ok", headers={"Host": "evil.example.com"})
        signup = await client.post(
            "/auth/signup",
            headers={"Host": "api.example.com.evil.example"},
            json={"email": "a@example.com", "password": "long enough 123", "displayName": "A"},
        )
    assert response.status_code == 400
    assert response.text == "Invalid host header"
    assert response.headers["x-request-id"]  # logged and traceable like any other request
    assert_hardened(response, hsts=False)
    # Refused before the route: nothing was written.
    assert signup.status_code == 400
    async with client_for(settings) as client:
        login = await client.post(
            "/auth/token", data={"username": "a@example.com", "password": "long enough 123"}
        )
    assert login.status_code == 401


async def test_health_probes_are_answered_whatever_the_host(
    settings: Settings, client_for: ClientFactory
) -> None:
    hosts = reconfigured(settings, trusted_hosts=["api.example.com"])
    async with client_for(hosts) as client:
        response = await client.get("/health/live", headers={"Host": "10.0.3.7:8000"})
    assert response.status_code == 200


async def test_production_serves_its_listed_host_only(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(production(settings), add_test_routes) as client:
        listed = await client.get("/test/ok")  # the test client's Host is "test"
        other = await client.get("/test/ok", headers={"Host": "attacker.example"})
    assert listed.status_code == 200
    assert other.status_code == 400
    assert_hardened(other, hsts=True)
