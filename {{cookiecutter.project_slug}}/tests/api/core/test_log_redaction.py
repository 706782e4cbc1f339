"""Secrets never reach the log output, whoever logs them and however they are nested."""

import io
import json
import logging
from typing import Any

import pytest
import structlog
from fastapi import APIRouter, FastAPI, Request
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from {{ cookiecutter.project_slug }}.core.redaction import (
    _TEXT_PATTERNS,
    REDACTED,
    redact_secrets,
    redact_text,
)
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import ClientFactory

PASSWORD = "Pa55word-that-must-stay-secret"
API_KEY = "sk_live_0123456789abcdef"
HANDLER_NAME = "{{ cookiecutter.project_slug }}"


def redacted(**event: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", event))


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "Password",
        "new_password",
        "password_hash",
        "token",
        "access_token",
        "refresh_token",
        "secret",
        "secret_key",
        "client_secret",
        "authorization",
        "Authorization",
        "api_key",
        "X-Api-Key",
        "apikey",
        "cookie",
        "set-cookie",
    ],
)
def test_values_of_sensitive_keys_are_replaced(key: str) -> None:
    assert redacted(**{key: "hunter2"})[key] == REDACTED


def test_other_values_are_kept() -> None:
    event = {"event": "user_signed_up", "email": "ada@example.com", "status": 201, "ok": True}
    assert redacted(**event) == event


def test_a_secret_among_many_plain_values_is_found() -> None:
    # Lines of plain values are settled by one scan over all of them (the common case); a hit
    # anywhere in that scan must still redact the value it came from, and only that one.
    plain = {"event": "request", "method": "GET", "path": "/cb", "status": 200, "ms": 1.5}
    event = redacted(**plain, note="retry with password=hunter2", cached=None, ok=True)
    assert event == {**plain, "note": f"retry with password={REDACTED}", "cached": None, "ok": True}


def test_nested_dicts_and_lists_are_redacted() -> None:
    event = redacted(
        event="call",
        request={"headers": {"Authorization": "Bearer abc.def.ghi", "Accept": "*/*"}},
        attempts=[{"user": "ada", "password": "hunter2"}, ("token", "x")],
    )
    assert event["request"] == {"headers": {"Authorization": REDACTED, "Accept": "*/*"}}
    assert event["attempts"][0] == {"user": "ada", "password": REDACTED}
    assert event["attempts"][1] == ("token", "x")  # a bare word is not a secret


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sent Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl now", f"sent Bearer {REDACTED} now"),
        ("authorization: bearer abc123", f"authorization: {REDACTED} {REDACTED}"),
        ("login password=hunter2 user=ada", f"login password={REDACTED} user=ada"),
        (
            "{'password': 'hunter2', 'user': 'ada'}",
            "{'password': '" + REDACTED + "', 'user': 'ada'}",
        ),
        ('{"api_key": "sk_1"}', '{"api_key": "' + REDACTED + '"}'),
        ("GET /cb?token=abc&page=2", f"GET /cb?token={REDACTED}&page=2"),
        ("postgresql://app:s3cret@db:5432/app", f"postgresql://app:{REDACTED}@db:5432/app"),
        ("X-Api-Key: k-123", f"X-Api-Key: {REDACTED}"),
        ("no secrets here: status=200", "no secrets here: status=200"),
    ],
)
def test_secrets_inside_text_are_replaced(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redacted(event=text)["event"] == expected


# Pieces of text the patterns react to, in odd cases and spellings, with the characters that
# case-insensitive matching treats as ASCII letters (long s as "s", the Kelvin sign as "k", the
# dotless and the dotted i as "i").
FRAGMENTS = st.sampled_from(
    [
        "Bearer ", "bEaReR\t", "PASSWORD", "pass", "word", "Pa\u017f\u017fword", "api", "_", "-", "KEY",
        "\u212aey", "secret", "tok", "en", "Cookie", "credential", "private", "://", "u:p@",
        "=", ": ", "'", '"', " ", "x1", "/", "&", "ß", "\n", "ap\u0131", "cook\u0130e",
        "cred\u0130ntial", "\u0131",
    ]
)  # fmt: skip


@hypothesis_settings(max_examples=2_000)  # a pure function: thousands of texts take about a second
@given(st.lists(FRAGMENTS, max_size=12).map("".join))
def test_the_quick_check_never_skips_a_text_the_patterns_would_change(text: str) -> None:
    # Most values are settled by one scan for a trigger word before any pattern runs; that scan
    # must let through every text a pattern would change.
    thorough = text
    for pattern, replacement in _TEXT_PATTERNS:
        thorough = pattern.sub(replacement, thorough)
    assert redact_text(text) == thorough
    assert redacted(event=text, status=200)["event"] == thorough


def test_a_long_value_is_redacted_in_linear_time() -> None:
    # A pathological input for a careless pattern (no separators, no keyword): must not hang.
    blob = "a" * 200_000
    assert redact_text(blob) == blob
    assert redact_text(f"token={blob}") == f"token={REDACTED}"


def add_careless_route(app: FastAPI) -> None:
    """A route that logs everything it was sent, as careless code (or a library) might."""
    router = APIRouter(prefix="/test")

    @router.post("/careless")
    async def careless(request: Request) -> dict[str, str]:
        form = dict(await request.form())
        authorization = request.headers.get("authorization", "")
        structlog.get_logger("careless").info(
            "received", headers=dict(request.headers), form=form, note=f"auth was {authorization}"
        )
        logging.getLogger("some.library").warning(
            "outgoing call with Authorization: %s and api_key=%s", authorization, API_KEY
        )
        try:
            msg = f"upstream refused password={form.get('password')} with {authorization}"
            raise RuntimeError(msg)
        except RuntimeError:
            structlog.get_logger("careless").exception("upstream_failed")
        return {"status": "logged"}

    app.include_router(router)


def capture_log_output(app: FastAPI) -> io.StringIO:
    """Point the service's own log handler at a buffer: the exact text it would write."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    app.state.log_buffer = buffer
    return buffer


@pytest.mark.parametrize("log_format", ["console", "json"])
async def test_login_and_bearer_requests_leave_no_secret_in_the_logs(
    settings: Settings, client_for: ClientFactory, log_format: str
) -> None:
    verbose = settings.model_copy(update={"log_format": log_format, "log_level": "DEBUG"})
    buffers: list[io.StringIO] = []

    def configure(app: FastAPI) -> None:
        add_careless_route(app)
        buffers.append(capture_log_output(app))

    async with client_for(verbose, configure) as client:
        email = "ada@example.com"
        signup = await client.post(
            "/auth/signup", json={"email": email, "password": PASSWORD, "displayName": "Ada"}
        )
        assert signup.status_code == 201
        login = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
        assert login.status_code == 200
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/users/me", headers=auth)).status_code == 200
        careless = await client.post(
            "/test/careless",
            headers={**auth, "Cookie": "session=cookie-value-42"},
            data={"username": email, "password": PASSWORD},
        )
        assert careless.status_code == 200

    output = buffers[0].getvalue()
    # The lines are there (the test would prove nothing if nothing was logged) ...
    for event in ("received", "outgoing call with Authorization", "upstream_failed", "Traceback"):
        assert event in output, event
    assert email in output  # ... with the values that are not secret ...
    # ... and no secret, in any shape.
    for secret in (PASSWORD, token, API_KEY, "cookie-value-42", *token.split(".")):
        assert secret not in output
    assert REDACTED in output
    if log_format == "json":
        lines = [json.loads(line) for line in output.splitlines()]
        [received] = [line for line in lines if line["event"] == "received"]
        assert received["headers"]["authorization"] == REDACTED
        assert received["headers"]["cookie"] == REDACTED
        assert received["form"] == {"username": email, "password": REDACTED}
