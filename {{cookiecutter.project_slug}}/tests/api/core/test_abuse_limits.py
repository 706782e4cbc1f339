"""What one client may send or start, in-process: each limit refuses in the common error shape
and loses nothing. tests/system/test_abuse.py sends the same attacks to a real server."""

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import structlog
from argon2 import PasswordHasher
from fastapi import APIRouter, FastAPI, Request

from {{ cookiecutter.project_slug }}.auth import security
from {{ cookiecutter.project_slug }}.auth.dependencies import MAX_TOKEN_LENGTH
from {{ cookiecutter.project_slug }}.auth.password_strength import (
    MAX_CHECKED_LENGTH,
    estimate_strength,
)
from {{ cookiecutter.project_slug }}.auth.schemas import MAX_PASSWORD_LENGTH
from {{ cookiecutter.project_slug }}.core.errors import MAX_ERROR_DETAILS, ServiceUnavailableError
from {{ cookiecutter.project_slug }}.core.observability import MAX_LOGGED_PATH, loggable
from {{ cookiecutter.project_slug }}.core.process_pool import (
    ProcessPoolRunner,
    TooManyCallsError,
    create_process_pool,
)
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import ClientFactory, client_at
from tests.helpers.logs import LogEvents
from tests.helpers.pool_functions import pause, wait_for
from tests.helpers.users import DEFAULT_PASSWORD, UserFactory, count_users, sign_up

SIGNUP = {"email": "ada@example.com", "password": DEFAULT_PASSWORD, "displayName": "Ada"}


def add_echo_route(app: FastAPI) -> None:
    router = APIRouter(prefix="/test")

    @router.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    app.include_router(router)


# --- Request bodies


async def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    settings: Settings, client_for: ClientFactory
) -> None:
    small = settings.model_copy(update={"max_request_body_bytes": 2048})
    async with client_for(small) as client:
        response = await client.post("/auth/signup", json={**SIGNUP, "displayName": "A" * 4000})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "content_too_large"
    assert error["message"] == "The request body is larger than 2048 bytes."
    assert error["requestId"] == response.headers["x-request-id"]
    assert await count_users(str(settings.database_url)) == 0


async def test_a_streamed_body_over_the_limit_is_413_as_it_crosses_it(
    settings: Settings, client_for: ClientFactory
) -> None:
    small = settings.model_copy(update={"max_request_body_bytes": 2048})

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for _ in range(100):
            yield b"x" * 1000

    async with client_for(small, add_echo_route) as client:
        response = await client.post("/test/echo", content=chunks())
        within = await client.post("/test/echo", content=b"y" * 2048)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "content_too_large"
    assert within.json() == {"received": 2048}


async def test_a_body_that_trickles_in_is_408(
    settings: Settings, client_for: ClientFactory
) -> None:
    impatient = settings.model_copy(update={"request_body_timeout": 0.3})

    sent: list[bytes] = []

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(20):
            sent.append(b"x")
            yield b"x"
            await asyncio.sleep(0.1)

    async with client_for(impatient, add_echo_route) as client:
        response = await client.post("/test/echo", content=trickle())
    assert response.status_code == 408
    assert response.json()["error"]["code"] == "request_timeout"
    assert len(sent) < 20  # cut off, not read to the end


async def test_thousands_of_unknown_keys_are_one_error(
    settings: Settings, client_for: ClientFactory
) -> None:
    body = {**SIGNUP, **{f"k{i}": 0 for i in range(20_000)}}
    async with client_for(settings) as client:
        response = await client.post("/auth/signup", json=body)
        a_few = await client.post("/auth/signup", json={**SIGNUP, "isAdmin": True})
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["loc"] == ["body"]
    assert "20003 keys" in detail["message"]
    # A few unknown keys are named one by one, as before.
    assert [d["loc"] for d in a_few.json()["error"]["details"]] == [["body", "isAdmin"]]
    assert await count_users(str(settings.database_url)) == 0


def add_list_route(app: FastAPI) -> None:
    router = APIRouter(prefix="/test")

    @router.post("/numbers")
    async def numbers(values: list[int]) -> dict[str, int]:
        return {"count": len(values)}

    app.include_router(router)


async def test_thousands_of_errors_get_a_short_answer(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(settings, add_list_route) as client:
        response = await client.post("/test/numbers", json=["x"] * 5000)
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert len(details) == MAX_ERROR_DETAILS + 1
    assert all(d["type"] == "int_parsing" for d in details[:MAX_ERROR_DETAILS])
    assert details[-1] == {
        "loc": [],
        "message": f"{5000 - MAX_ERROR_DETAILS} more errors not shown",
        "type": "too_many_errors",
    }
    assert len(response.content) < 10_000


# --- Tokens


async def test_an_oversized_token_is_refused_before_it_is_decoded(
    client: httpx.AsyncClient, make_user: UserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user()
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    huge = "e" * (MAX_TOKEN_LENGTH + 1)
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {huge}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert decoded == []
    assert (await client.get("/users/me", headers=user.headers)).status_code == 200
    assert len(decoded) == 1  # a token of ordinary size is decoded as before


# --- Password hashing


async def test_hashing_beyond_its_slots_waits_then_answers_503(
    settings: Settings, client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first sign-up's hash is held in its slot until the others have been answered, so
    # the test does not depend on how long a hash takes on this machine.
    started, release = threading.Event(), threading.Event()
    real_hash = PasswordHasher.hash

    def held_hash(self: PasswordHasher, password: str | bytes, **kwargs: Any) -> str:
        started.set()
        assert release.wait(30)
        return real_hash(self, password, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", held_hash)
    one_slot = settings.model_copy(
        update={"password_hash_concurrency": 1, "password_hash_wait_seconds": 0.05}
    )
    async with client_for(one_slot) as client:
        first = asyncio.ensure_future(
            client.post("/auth/signup", json={**SIGNUP, "email": "first@example.com"})
        )
        try:
            assert await asyncio.to_thread(started.wait, 30), "the first hash never started"
            refused = await asyncio.gather(
                *(
                    client.post("/auth/signup", json={**SIGNUP, "email": f"u{i}@example.com"})
                    for i in range(3)
                )
            )
        finally:
            release.set()
        accepted = await first
    assert accepted.status_code == 201
    assert [r.status_code for r in refused] == [503, 503, 503]
    for response in refused:
        assert response.json()["error"]["code"] == "service_unavailable"
        assert response.headers["retry-after"] == "1"
    assert await count_users(str(settings.database_url)) == 1


async def test_no_database_connection_is_held_while_a_password_hashes(
    settings: Settings, client_for: ClientFactory, make_user: UserFactory
) -> None:
    # A pool of one connection: sign-ups and logins hashing at once must leave it free.
    reader = await make_user()
    tiny = settings.model_copy(update={"db_pool_min_size": 1, "db_pool_max_size": 1})
    async with client_for(tiny) as client:
        signups = [
            client.post("/auth/signup", json={**SIGNUP, "email": f"h{i}@example.com"})
            for i in range(3)
        ]
        login = client.post(
            "/auth/token", data={"username": reader.email, "password": DEFAULT_PASSWORD}
        )
        reads = [client.get("/users/me", headers=reader.headers) for _ in range(5)]
        responses = await asyncio.gather(*signups, login, *reads)
    assert [r.status_code for r in responses] == [201, 201, 201, 200] + [200] * 5


async def test_a_taken_email_is_refused_before_any_hashing(
    client: httpx.AsyncClient, make_user: UserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user()
    hashed: list[str] = []
    real_hash = security.PasswordHashing.hash

    async def counting_hash(self: security.PasswordHashing, password: str) -> str:
        hashed.append(password)
        return await real_hash(self, password)

    monkeypatch.setattr(security.PasswordHashing, "hash", counting_hash)
    response = await client.post("/auth/signup", json={**SIGNUP, "email": user.email})
    assert response.status_code == 409
    assert hashed == []


async def test_sign_ups_are_limited_per_address_and_overall(
    settings: Settings, client_for: ClientFactory
) -> None:
    limited = settings.model_copy(update={"signup_max_per_address": 2, "signup_max_overall": 1000})
    async with client_for(limited) as client:
        statuses = [
            (await client.post("/auth/signup", json={**SIGNUP, "email": f"s{i}@example.com"}))
            for i in range(3)
        ]
    assert [r.status_code for r in statuses] == [201, 201, 429]
    refused = statuses[-1]
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert int(refused.headers["retry-after"]) > 0
    assert await count_users(str(settings.database_url)) == 2

    everyone = settings.model_copy(update={"signup_max_per_address": 1000, "signup_max_overall": 1})
    async with client_for(everyone) as client:
        first = await client.post("/auth/signup", json={**SIGNUP, "email": "o1@example.com"})
        second = await client.post("/auth/signup", json={**SIGNUP, "email": "o2@example.com"})
    assert (first.status_code, second.status_code) == (201, 429)


# --- The process pool


@pytest.fixture
async def one_process() -> AsyncIterator[ProcessPoolExecutor]:
    executor = await asyncio.to_thread(create_process_pool, 1, 0)
    yield executor
    await asyncio.to_thread(executor.shutdown)


async def test_a_full_process_pool_answers_503_at_once(
    one_process: ProcessPoolExecutor, tmp_path: Path
) -> None:
    runner = ProcessPoolRunner(one_process, max_pending=1, timeout=10, max_per_caller=5)
    release = tmp_path / "release"
    busy = asyncio.create_task(runner.run("first user", wait_for, str(release)))
    await asyncio.sleep(0.05)
    with pytest.raises(ServiceUnavailableError):
        await runner.run("second user", pause, 0)
    assert not busy.done()  # refused at once, not after waiting for the slot
    release.touch()
    assert await busy is True
    assert await runner.run("second user", pause, 0) == 0  # the slot is free again


async def test_one_caller_cannot_take_every_process_pool_slot(
    one_process: ProcessPoolExecutor,
) -> None:
    runner = ProcessPoolRunner(one_process, max_pending=4, timeout=10, max_per_caller=2)
    hog = [asyncio.create_task(runner.run("hog", pause, 0.3)) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(TooManyCallsError) as refused:
        await runner.run("hog", pause, 0)
    assert refused.value.status_code == 429
    assert refused.value.headers == {"Retry-After": "1"}
    # Another user still gets a slot while the first one is at its limit.
    assert await runner.run("someone else", pause, 0) == 0
    assert await asyncio.gather(*hog) == [0.3, 0.3]
    assert await runner.run("hog", pause, 0) == 0  # its calls ended, so it may start again


async def test_calls_without_a_caller_share_only_the_overall_bound(
    one_process: ProcessPoolExecutor, tmp_path: Path
) -> None:
    runner = ProcessPoolRunner(one_process, max_pending=2, timeout=10, max_per_caller=1)
    release = tmp_path / "release"
    # Two at once, past the one call per caller, since they name none.
    held = [asyncio.create_task(runner.run(None, wait_for, str(release))) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(ServiceUnavailableError):  # but never more than the pool's bound
        await runner.run(None, pause, 0)
    assert not any(task.done() for task in held)
    release.touch()
    assert await asyncio.gather(*held) == [True, True]


async def test_a_failed_call_gives_its_caller_slot_back(one_process: ProcessPoolExecutor) -> None:
    runner = ProcessPoolRunner(one_process, max_pending=2, timeout=10, max_per_caller=1)
    with pytest.raises(ZeroDivisionError):
        await runner.run("user", divmod, 1, 0)
    assert await runner.run("user", pause, 0) == 0


async def test_a_process_pool_call_past_its_time_limit_is_503(
    one_process: ProcessPoolExecutor,
) -> None:
    runner = ProcessPoolRunner(one_process, max_pending=2, timeout=0.2, max_per_caller=1)
    with pytest.raises(ServiceUnavailableError, match="took too long"):
        await runner.run("user", pause, 1.0)
    # The caller's slot came back with the 503: its next call waits for the busy process (and
    # times out behind it) instead of being refused as one too many.
    with pytest.raises(ServiceUnavailableError, match="took too long"):
        await runner.run("user", pause, 0)


STRENGTH_PATH = "/auth/password-strength"
STRENGTH = {"password": "correct horse 42", "userInputs": ["ada@example.com"]}


async def test_the_process_pool_counts_calls_per_client_address(
    settings: Settings, client_for: ClientFactory
) -> None:
    apps: list[FastAPI] = []
    async with client_for(settings, apps.append):
        app = apps[0]
        runner: ProcessPoolRunner = app.state.process_pool_runner
        # One address already has PROCESS_POOL_MAX_PER_CALLER calls in the pool.
        hog = [
            asyncio.create_task(runner.run("10.0.0.1", pause, 0.5))
            for _ in range(settings.process_pool_max_per_caller)
        ]
        await asyncio.sleep(0.05)
        async with client_at(app, "10.0.0.1") as hog_client, client_at(app, "10.0.0.2") as other:
            refused = await hog_client.post(STRENGTH_PATH, json=STRENGTH)
            served = await other.post(STRENGTH_PATH, json=STRENGTH)
            assert await asyncio.gather(*hog) == [0.5] * len(hog)
            again = await hog_client.post(STRENGTH_PATH, json=STRENGTH)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "too_many_concurrent_calls"
    assert error["requestId"] == refused.headers["x-request-id"]
    assert refused.headers["retry-after"] == "1"
    # Another address is served meanwhile, and the first one again once its calls have ended.
    assert served.status_code == 200, served.text
    assert again.json() == served.json()


async def test_a_full_process_pool_answers_the_route_503_at_once(
    settings: Settings, client_for: ClientFactory, tmp_path: Path
) -> None:
    apps: list[FastAPI] = []
    two_slots = settings.model_copy(update={"process_pool_max_pending": 2})
    release = tmp_path / "release"
    async with client_for(two_slots, apps.append) as client:
        runner: ProcessPoolRunner = apps[0].state.process_pool_runner
        busy = [
            asyncio.create_task(runner.run(caller, wait_for, str(release))) for caller in ("a", "b")
        ]
        await asyncio.sleep(0.05)
        refused = await client.post(STRENGTH_PATH, json=STRENGTH)
        still_busy = not any(task.done() for task in busy)
        release.touch()
        assert await asyncio.gather(*busy) == [True, True]
        served = await client.post(STRENGTH_PATH, json=STRENGTH)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "service_unavailable"
    assert refused.headers["retry-after"] == "1"
    assert still_busy  # refused at once, not after waiting for a slot
    assert served.status_code == 200, served.text


def test_a_password_strength_estimate_judges_only_the_first_characters() -> None:
    # The most a request may send: MAX_PASSWORD_LENGTH characters built to give zxcvbn many
    # matches (repeats, sequences, dates, keyboard runs, l33t), and five long user inputs.
    # zxcvbn's work grows with the length and it refuses more than MAX_CHECKED_LENGTH, so the
    # estimate is made on those first characters: the same answer as theirs (and, since zxcvbn
    # never sees the rest, the same work).
    inputs = [("ada lovelace " * 8)[:100]] * 5
    for pattern in ("1", "ab", "abcdef", "19841231", "qwertyuiop", "p@ssw0rd", "ada lovelace"):
        crafted = (pattern * MAX_PASSWORD_LENGTH)[:MAX_PASSWORD_LENGTH]
        head = crafted[:MAX_CHECKED_LENGTH]
        assert estimate_strength(crafted, inputs) == estimate_strength(head, inputs), pattern


# --- What the logs carry


def test_logged_paths_are_bounded_and_escape_control_characters() -> None:
    assert loggable("/audit-events/1") == "/audit-events/1"
    assert loggable("/a\x1b[31mred\x1b[0m") == "/a\\x1b[31mred\\x1b[0m"
    long = loggable("/" + "p" * 10_000)
    assert len(long) == MAX_LOGGED_PATH + 3
    assert long.endswith("...")


async def test_the_access_line_names_the_client_and_the_user(
    settings: Settings, client_for: ClientFactory, log_events: LogEvents
) -> None:
    async with client_for(settings) as client:
        user = await sign_up(client, "seen@example.com")
        user_id, headers = user.id, user.headers
        await client.get("/users/me", headers=headers)
        await client.get("/health/live")
    me, live = [e for e in log_events("request") if e["path"] in ("/users/me", "/health/live")]
    assert me["user_id"] == user_id
    assert me["client"] == "127.0.0.1"
    assert "user_id" not in live  # the next request does not inherit it
    assert "user_id" not in structlog.contextvars.get_contextvars()


async def test_failed_logins_are_logged_without_the_password(
    settings: Settings, client_for: ClientFactory, log_events: LogEvents
) -> None:
    wrong = "not the password 99"
    async with client_for(settings) as client:
        user_id = (await sign_up(client, "owner@example.com")).id
        await client.post("/auth/token", data={"username": "owner@example.com", "password": wrong})
        await client.post("/auth/token", data={"username": "nobody@example.com", "password": wrong})
    failures = log_events("login_failed")
    assert [(e["reason"], e.get("user_id")) for e in failures] == [
        ("wrong_password", user_id),
        ("unknown_email", None),
    ]
    assert wrong not in json.dumps(failures)


async def test_a_client_request_id_is_logged_beside_ours(
    settings: Settings, client_for: ClientFactory, log_events: LogEvents
) -> None:
    async with client_for(settings) as client:
        response = await client.get("/health/live", headers={"X-Request-ID": "edge-proxy-42"})
    ours = response.headers["x-request-id"]
    assert ours != "edge-proxy-42"
    [line] = [e for e in log_events("request") if e["request_id"] == ours]
    assert line["client_request_id"] == "edge-proxy-42"
