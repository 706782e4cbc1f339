"""Sentry is off without SENTRY_DSN; with one, crashes reach the ingestion endpoint, minus secrets.

The Sentry server is the outside world, so it is replaced at its HTTP boundary: a local server
that records every envelope the SDK sends.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest
import sentry_sdk
from fastapi import APIRouter, FastAPI
from pydantic import HttpUrl

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import PACKAGE

from tests.helpers.apps import ClientFactory, serve
from tests.helpers.sentry import Ingestion


@pytest.fixture
def sentry_switched_off_afterwards() -> Iterator[None]:
    yield
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=2)
    sentry_sdk.get_global_scope().set_client(None)
    assert not sentry_sdk.get_client().is_active()


@pytest.fixture
async def ingestion(sentry_switched_off_afterwards: None) -> AsyncIterator[tuple[Ingestion, str]]:
    app = Ingestion()
    async with serve(app) as url:
        host = url.removeprefix("http://")
        yield app, f"http://public-key@{host}/42"


def add_crash_route(app: FastAPI) -> None:
    router = APIRouter()

    @router.post("/test/crash")
    async def crash(payload: dict[str, str]) -> None:
        token = payload["note"]  # a local variable holding a secret
        msg = "the flux capacitor is out of alignment"
        raise LookupError(msg, len(token))

    app.include_router(router)


async def test_without_a_dsn_sentry_is_never_initialised(
    settings: Settings, client_for: ClientFactory
) -> None:
    assert settings.sentry_dsn is None
    async with client_for(settings, add_crash_route) as client:
        assert (await client.post("/test/crash", json={"note": "x"})).status_code == 500
        assert not sentry_sdk.get_client().is_active()


async def test_a_crash_is_reported_with_its_type_and_without_secrets(
    settings: Settings,
    client_for: ClientFactory,
    ingestion: tuple[Ingestion, str],
) -> None:
    server, dsn = ingestion
    reporting = settings.model_copy(update={"sentry_dsn": HttpUrl(dsn)})
    token = "Bearer do-not-leak-this-token"
    async with client_for(reporting, add_crash_route) as client:
        assert sentry_sdk.get_client().is_active()
        response = await client.post(
            "/test/crash",
            json={"note": "do-not-leak-the-body"},
            headers={"Authorization": token, "Cookie": "session=do-not-leak-the-cookie"},
        )
        assert response.status_code == 500
        await asyncio.to_thread(sentry_sdk.flush, 5)

    [event] = server.events()
    [exception] = event["exception"]["values"]
    assert exception["type"] == "LookupError"
    assert "the flux capacitor is out of alignment" in exception["value"]
    assert event["environment"] == "test"
    assert event["release"] == "{{ cookiecutter.project_slug }}@" + PACKAGE["Version"]
    assert event["tags"]["request_id"] == response.headers["x-request-id"]
    sent = json.dumps(server.envelopes)
    assert "do-not-leak" not in sent
    assert "/test/crash" in sent  # the request is described, just not its secrets


async def test_handled_errors_are_not_reported(
    settings: Settings, client_for: ClientFactory, ingestion: tuple[Ingestion, str]
) -> None:
    server, dsn = ingestion
    reporting = settings.model_copy(update={"sentry_dsn": HttpUrl(dsn)})
    async with client_for(reporting) as client:
        assert (await client.get("/no/such/route")).status_code == 404
        assert (await client.get("/users/me")).status_code == 401
        await asyncio.to_thread(sentry_sdk.flush, 5)
    assert server.events() == []


async def test_building_apps_again_keeps_one_sentry_client(
    settings: Settings, client_for: ClientFactory, ingestion: tuple[Ingestion, str]
) -> None:
    _, dsn = ingestion
    reporting = settings.model_copy(update={"sentry_dsn": HttpUrl(dsn)})
    async with client_for(reporting):
        first = sentry_sdk.get_client()
    async with client_for(reporting):
        assert sentry_sdk.get_client() is first
