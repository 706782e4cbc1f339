"""Brute-force protection on POST /auth/token, in Redis: per account and address, failures per
account, and per client address."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import RedisDsn
from redis.asyncio import Redis

from {{ cookiecutter.project_slug }}.core.settings import Settings
from {{ cookiecutter.project_slug }}.main import create_app

from tests.helpers.apps import ClientFactory
from tests.helpers.logs import LogEvents
from tests.helpers.polling import eventually

EMAIL = "ada@example.com"
PASSWORD = "analytical engine 1843"
WRONG = "not the password 1"


def limited(settings: Settings, **values: Any) -> Settings:
    limits = {
        "login_max_attempts_per_account_and_address": 3,
        "login_max_failures_per_account": 1000,
        "login_max_attempts_per_address": 1000,
        **values,
    }
    return settings.model_copy(update=limits)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """The app, and a way to get clients that call from a given IP address."""
    app: FastAPI = create_app(settings)
    clients: list[httpx.AsyncClient] = []

    def from_address(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
        return clients[-1]

    async with LifespanManager(app):
        try:
            yield from_address
        finally:
            for client in clients:
                await client.aclose()


async def sign_up(client: httpx.AsyncClient, email: str = EMAIL) -> None:
    response = await client.post(
        "/auth/signup", json={"email": email, "password": PASSWORD, "displayName": "Ada"}
    )
    assert response.status_code == 201, response.text


async def log_in(client: httpx.AsyncClient, password: str, email: str = EMAIL) -> httpx.Response:
    return await client.post("/auth/token", data={"username": email, "password": password})


def assert_rate_limited(response: httpx.Response, window: int) -> None:
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "too_many_requests"
    assert error["requestId"] == response.headers["x-request-id"]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window
    assert error["message"] == f"Too many login attempts; try again in {retry_after} seconds."
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "access_token" not in response.text


async def test_an_address_is_locked_out_of_an_account_after_too_many_attempts(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(limited(settings)) as client:
        await sign_up(client)
        failures = [(await log_in(client, WRONG)).status_code for _ in range(3)]
        locked = await log_in(client, PASSWORD)  # even the right password: no oracle
    assert failures == [401, 401, 401]
    assert_rate_limited(locked, settings.login_rate_limit_window_seconds)


async def test_a_successful_login_clears_the_account_counter(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(limited(settings)) as client:
        await sign_up(client)
        statuses = [(await log_in(client, WRONG)).status_code for _ in range(2)]
        statuses.append((await log_in(client, PASSWORD)).status_code)
        statuses += [(await log_in(client, WRONG)).status_code for _ in range(2)]
        statuses.append((await log_in(client, PASSWORD)).status_code)
    assert statuses == [401, 401, 200, 401, 401, 200]


async def test_the_owner_is_never_locked_out_by_their_own_logins(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(limited(settings)) as client:
        await sign_up(client)
        statuses = {(await log_in(client, PASSWORD)).status_code for _ in range(5)}
    assert statuses == {200}


async def test_accounts_are_counted_by_normalised_email_and_unknown_ones_too(
    settings: Settings, client_for: ClientFactory
) -> None:
    unknown = "nobody@example.com"
    async with client_for(limited(settings)) as client:
        spellings = [unknown, " Nobody@Example.com", "NOBODY@EXAMPLE.COM "]
        failures = [(await log_in(client, WRONG, email)).status_code for email in spellings]
        locked = await log_in(client, WRONG, unknown)
    # An unknown account locks like a real one, so a 429 does not reveal which emails exist.
    assert failures == [401, 401, 401]
    assert_rate_limited(locked, settings.login_rate_limit_window_seconds)


async def test_locking_one_account_leaves_the_others_alone(
    settings: Settings, client_for: ClientFactory
) -> None:
    other = "grace@example.com"
    async with client_for(limited(settings)) as client:
        await sign_up(client)
        await sign_up(client, other)
        for _ in range(4):
            await log_in(client, WRONG)
        assert (await log_in(client, PASSWORD)).status_code == 429
        assert (await log_in(client, PASSWORD, other)).status_code == 200


async def test_an_attacker_at_one_address_does_not_lock_the_owner_out(
    settings: Settings,
) -> None:
    async with running_app(limited(settings)) as from_address:
        attacker, owner = from_address("203.0.113.9"), from_address("198.51.100.4")
        await sign_up(owner)
        guesses = [(await log_in(attacker, WRONG)).status_code for _ in range(3)]
        stopped = await log_in(attacker, WRONG)
        right_but_stopped = await log_in(attacker, PASSWORD)  # no oracle for the attacker
        owners = [(await log_in(owner, PASSWORD)).status_code for _ in range(2)]
    assert guesses == [401, 401, 401]
    assert_rate_limited(stopped, settings.login_rate_limit_window_seconds)
    assert_rate_limited(right_but_stopped, settings.login_rate_limit_window_seconds)
    assert owners == [200, 200]


async def test_an_ipv6_network_counts_as_one_client(settings: Settings) -> None:
    async with running_app(limited(settings)) as from_address:
        await sign_up(from_address("198.51.100.4"))
        # One subscriber's /64 holds endless addresses: they count together.
        guesses = [
            (await log_in(from_address(f"2001:db8:0:1::{n}"), WRONG)).status_code
            for n in range(1, 4)
        ]
        stopped = await log_in(from_address("2001:db8:0:1::ffff"), WRONG)
        owner = await log_in(from_address("2001:db8:0:2::1"), PASSWORD)  # another /64
    assert guesses == [401, 401, 401]
    assert_rate_limited(stopped, settings.login_rate_limit_window_seconds)
    assert owner.status_code == 200


async def test_guesses_spread_over_many_addresses_lock_the_account_at_the_higher_limit(
    settings: Settings,
) -> None:
    spread = limited(settings, login_max_failures_per_account=4)
    async with running_app(spread) as from_address:
        await sign_up(from_address("198.51.100.4"))
        guesses = [
            (await log_in(from_address(f"203.0.113.{n}"), WRONG)).status_code for n in range(4)
        ]
        # Each address stayed under its own limit; together they reached the account's.
        locked = await log_in(from_address("198.51.100.4"), PASSWORD)
        other = await log_in(from_address("198.51.100.4"), PASSWORD, "grace@example.com")
    assert guesses == [401, 401, 401, 401]
    assert_rate_limited(locked, spread.login_rate_limit_window_seconds)
    assert other.status_code == 401  # other accounts are not affected (this one does not exist)


async def test_an_address_is_limited_across_accounts(settings: Settings) -> None:
    per_address = limited(
        settings, login_max_attempts_per_account_and_address=1000, login_max_attempts_per_address=4
    )
    async with running_app(per_address) as from_address:
        attacker, neighbour = from_address("203.0.113.9"), from_address("198.51.100.4")
        await sign_up(neighbour)
        tries = [
            (await log_in(attacker, WRONG, f"user{i}@example.com")).status_code for i in range(4)
        ]
        blocked = await log_in(attacker, PASSWORD)  # valid credentials, blocked address
        elsewhere = await log_in(neighbour, PASSWORD)
    assert tries == [401, 401, 401, 401]
    assert_rate_limited(blocked, per_address.login_rate_limit_window_seconds)
    assert elsewhere.status_code == 200


async def test_the_limit_lifts_when_the_window_ends(
    settings: Settings, client_for: ClientFactory
) -> None:
    # One attempt per window: the second is refused at once, however long Argon2 took.
    short = limited(
        settings, login_max_attempts_per_account_and_address=1, login_rate_limit_window_seconds=5
    )
    async with client_for(short) as client:
        await sign_up(client)
        assert (await log_in(client, WRONG)).status_code == 401
        assert_rate_limited(await log_in(client, PASSWORD), 5)

        async def unlocked() -> bool:
            return (await log_in(client, PASSWORD)).status_code == 200

        await eventually(unlocked, timeout_s=20)


async def test_counters_live_under_the_configured_prefix_without_the_email(
    settings: Settings, client_for: ClientFactory
) -> None:
    async with client_for(limited(settings)) as client:
        await sign_up(client)
        for _ in range(3):
            await log_in(client, WRONG)
    redis = Redis.from_url(str(settings.redis_url))
    try:
        pattern = f"{settings.rate_limit_key_prefix}:*"
        keys = [key.decode() async for key in redis.scan_iter(pattern)]
        # Login: per address, per account and address, failures per account; the sign-up made
        # one per address and one overall.
        assert sorted(key.split(":")[-1].split("/")[0] for key in keys) == [
            "login-account",
            "login-account-address",
            "login-address",
            "signup-address",
            "signup-all",
        ]
        assert not any(EMAIL in key for key in keys)
        for key in keys:
            longest = max(
                settings.login_rate_limit_window_seconds, settings.signup_rate_limit_window_seconds
            )
            assert 0 < await redis.ttl(key) <= longest
    finally:
        await redis.aclose()

    # Another prefix (another service, another test run) has counters of its own.
    other = limited(settings, rate_limit_key_prefix=f"{settings.rate_limit_key_prefix}-other")
    async with client_for(other) as client:
        assert (await log_in(client, PASSWORD)).status_code == 200


async def test_redis_down_fails_open_with_a_warning(
    settings: Settings,
    client_for: ClientFactory,
    closed_port: int,
    log_events: LogEvents,
) -> None:
    async with client_for(settings) as client:
        await sign_up(client)
    down = limited(settings, redis_url=RedisDsn(f"redis://127.0.0.1:{closed_port}/0"))
    async with client_for(down) as client:
        wrong = [(await log_in(client, WRONG)).status_code for _ in range(4)]
        right = await log_in(client, PASSWORD)
    # No limit could be counted: logins go ahead, judged on the password alone.
    assert wrong == [401, 401, 401, 401]
    assert right.status_code == 200
    warnings = log_events("rate_limit_unavailable")
    assert len(warnings) >= 5
    assert all(warning["level"] == "warning" for warning in warnings)
