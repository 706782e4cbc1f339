"""Request ids: made or accepted, echoed in the response, bound to every log line (S14)."""

import logging
import re

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI

from {{ cookiecutter.project_slug }}.config import Settings

from tests.conftest import ClientFactory, logged


def add_logging_route(app: FastAPI) -> None:
    router = APIRouter()

    @router.get("/test/log")
    async def log_something() -> dict[str, bool]:
        structlog.get_logger("test").info("inside_handler", detail="x")
        logging.getLogger("some.stdlib.library").warning("stdlib line")
        return {"ok": True}

    app.include_router(router)


async def test_request_id_is_generated_when_missing(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_request_ids_differ_between_requests(client: httpx.AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_incoming_request_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "edge-proxy-42"})
    assert response.headers["x-request-id"] == "edge-proxy-42"


@pytest.mark.parametrize("bad", ["has spaces", "x" * 129, 'quote"d', "semi;colon"])
async def test_unsafe_incoming_request_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": bad})
    assert response.headers["x-request-id"] != bad
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_every_log_line_of_a_request_carries_its_id(
    settings: Settings, client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        async with client_for(settings, add_logging_route) as client:
            response = await client.get("/test/log", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 200

    [(_, handler_line)] = logged(caplog.records, "inside_handler")
    assert handler_line["request_id"] == "trace-me"
    assert handler_line["detail"] == "x"

    [access_line] = [e for _, e in logged(caplog.records, "request") if e["path"] == "/test/log"]
    assert access_line["request_id"] == "trace-me"
    assert access_line["method"] == "GET"
    assert access_line["status"] == 200
    assert isinstance(access_line["duration_ms"], float)

    stdlib = [r for r in caplog.records if r.name == "some.stdlib.library"]
    assert len(stdlib) == 1


async def test_request_id_is_not_left_bound_after_the_request(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")
    assert "request_id" not in structlog.contextvars.get_contextvars()


def test_json_format_renders_one_json_object_per_line(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from {{ cookiecutter.project_slug }}.logging import configure_logging

    configure_logging(settings.model_copy(update={"log_format": "json"}))
    with structlog.contextvars.bound_contextvars(request_id="abc"):
        structlog.get_logger("test").warning("json_line", answer=42)
        logging.getLogger("uvicorn.error").warning("from uvicorn")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    ours = next(line for line in lines if line["event"] == "json_line")
    assert ours["request_id"] == "abc"
    assert ours["answer"] == 42
    assert ours["level"] == "warning"
    assert ours["timestamp"].endswith("Z")
    theirs = next(line for line in lines if line["event"] == "from uvicorn")
    assert theirs["logger"] == "uvicorn.error"
    assert theirs["request_id"] == "abc"
