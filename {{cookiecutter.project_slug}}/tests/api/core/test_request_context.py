"""Request ids: always ours, sent in the response, bound to every log line (S14); a caller's
well-formed id is logged beside ours."""

import logging
import re

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI

from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import ClientFactory
from tests.helpers.logs import LogEvents


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


async def test_an_incoming_request_id_never_replaces_ours(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "edge-proxy-42"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


@pytest.mark.parametrize("bad", ["has spaces", "x" * 129, 'quote"d', "semi;colon", "\x1b[31m"])
async def test_an_unsafe_incoming_request_id_is_not_logged(
    settings: Settings, client_for: ClientFactory, log_events: LogEvents, bad: str
) -> None:
    async with client_for(settings) as client:
        response = await client.get("/health/live", headers={"X-Request-ID": bad})
    [line] = [
        e for e in log_events("request") if e["request_id"] == response.headers["x-request-id"]
    ]
    assert "client_request_id" not in line


async def test_every_log_line_of_a_request_carries_its_id(
    settings: Settings, client_for: ClientFactory, log_events: LogEvents
) -> None:
    async with client_for(settings, add_logging_route) as client:
        response = await client.get("/test/log", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 200
    ours = response.headers["x-request-id"]

    [handler_line] = log_events("inside_handler")
    assert handler_line["request_id"] == ours
    assert handler_line["client_request_id"] == "trace-me"
    assert handler_line["detail"] == "x"
    assert handler_line["logger"] == "test"

    [access_line] = [e for e in log_events("request") if e["path"] == "/test/log"]
    assert access_line["request_id"] == ours
    assert access_line["client_request_id"] == "trace-me"
    assert access_line["method"] == "GET"
    assert access_line["status"] == 200
    assert isinstance(access_line["duration_ms"], float)

    [stdlib_line] = log_events("stdlib line")
    assert stdlib_line["logger"] == "some.stdlib.library"
    assert stdlib_line["request_id"] == ours


async def test_request_id_is_not_left_bound_after_the_request(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")
    assert "request_id" not in structlog.contextvars.get_contextvars()


@pytest.mark.parametrize("level", ["DEBUG", "WARNING"])
def test_lines_below_the_configured_level_are_not_printed(
    settings: Settings, log_events: LogEvents, level: str
) -> None:
    from {{ cookiecutter.project_slug }}.core.logging import configure_logging

    configure_logging(settings.model_copy(update={"log_level": level}))
    logger = structlog.get_logger("test")
    logger.debug("debug_line")
    logger.info("info_line")
    logger.warning("warning_line")
    logger.error("error_line")
    logging.getLogger("some.library").info("stdlib_info_line")
    printed = {
        name: len(log_events(name))
        for name in ("debug_line", "info_line", "warning_line", "error_line", "stdlib_info_line")
    }
    verbose = level == "DEBUG"
    assert printed == {
        "debug_line": int(verbose),
        "info_line": int(verbose),
        "warning_line": 1,
        "error_line": 1,
        "stdlib_info_line": int(verbose),
    }


def test_json_format_renders_one_json_object_per_line(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from {{ cookiecutter.project_slug }}.core.logging import configure_logging

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
