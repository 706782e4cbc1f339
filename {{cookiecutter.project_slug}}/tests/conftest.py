"""Fixtures for tests against real services.

Each test session creates its own PostgreSQL database (unique name, dropped at the end) on the
server named by DATABASE_URL and migrates it to head; every test ends by emptying every table
in it (found in the catalog, so a new domain's tables need no list), so tests never see each
other's rows. Redis is the one at REDIS_URL; each test deletes the rate-limit keys it made{% if cookiecutter.include_celery == 'y' %}, and
the session deletes its Celery queue{% endif %}. Both are read through `Settings`, so a `.env` file or
environment variables work as they do for the app. An unreachable service fails
the session with a message saying which one and how to start it; nothing is skipped.

Every test runs under `blocking_guard`: a blocking call on the event loop under this package's
code fails the test (S1, see RULES.md).
"""

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
{%- if cookiecutter.include_celery == 'y' %}
from pathlib import Path
{%- endif %}
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from blockbuster import BlockBuster
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from pydantic import PostgresDsn
from redis.asyncio import Redis

import {{ cookiecutter.project_slug }}
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.core.celery import create_celery
{%- endif %}
from {{ cookiecutter.project_slug }}.core.settings import Environment, Settings

from tests.helpers.apps import ClientFactory, running_client
from tests.helpers.blocking import TOLERATED_BLOCKING, BlockingCalls
from tests.helpers.database import APP_TABLES, migrate, scratch_database, without_password
from tests.helpers.logs import LogEvents
from tests.helpers.users import SignedUpUser, UserFactory, sign_up
{%- if cookiecutter.include_celery == 'y' %}
from tests.helpers.workers import WorkerProcess, start_worker
{%- endif %}

# Fuzzing (tests/system/test_fuzz.py): a few examples per operation in every run; `make fuzz` loads the
# "fuzz" profile (--hypothesis-profile=fuzz) to search longer. Loaded before tests are collected.
# The app and its client are set up once per operation, not per example, hence the health check.
hypothesis_settings.register_profile(
    "quick",
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
hypothesis_settings.register_profile(
    "fuzz", hypothesis_settings.get_profile("quick"), max_examples=500
)
hypothesis_settings.load_profile("quick")


def pytest_addoption(parser: pytest.Parser) -> None:
    # Soak (tests/system/test_soak.py): short in every run; `make soak` runs the long version.
    parser.addoption("--soak-seconds", type=float, default=3.0, help="soak duration (s)")
    parser.addoption("--soak-connections", type=int, default=10, help="concurrent clients")


@pytest.fixture
def log_events(capsys: pytest.CaptureFixture[str]) -> LogEvents:
    """The service's log lines printed so far in this test that name an event, parsed.

    Tests log as JSON (see `base_settings`), so this reads exactly what production would print,
    whichever path a line took (structlog's own or the standard library's).
    """
    parsed: list[dict[str, Any]] = []  # each line is parsed once, however often a test polls

    def events(name: str) -> list[dict[str, Any]]:
        printed = capsys.readouterr().err  # what was printed since the last call
        parsed.extend(json.loads(line) for line in printed.splitlines() if line.startswith("{"))
        return [event for event in parsed if event.get("event") == name]

    return events


@pytest.fixture(scope="session")
def base_settings() -> {% if cookiecutter.include_celery == 'y' %}Iterator[Settings]{% else %}Settings{% endif %}:
    settings = Settings(
        environment=Environment.TEST,
        log_format="json",  # whatever .env says: `log_events` reads the lines back
{%- if cookiecutter.include_celery == 'y' %}
        # A queue of its own, so a worker you run for development never takes a test's jobs.
        celery_queue=f"{{ cookiecutter.project_slug }}.test-{uuid4().hex[:8]}",
{%- endif %}
        # Tests sign up many users from one address{% if cookiecutter.include_celery == 'y' %} and queue hundreds of one user's jobs{% endif %}: the
        # limits get tests of their own (test_abuse_limits.py), with their defaults.
        signup_max_per_address=100_000,
        signup_max_overall=1_000_000,
{%- if cookiecutter.include_celery == 'y' %}
        jobs_max_active_per_user=1000,
{%- endif %}
    )
{%- if cookiecutter.include_celery == 'y' %}
    yield settings
    # The session's queue goes with it: its messages and, on Redis, kombu's bindings for it.
    celery = create_celery(settings)
    with celery.connection_for_write() as connection:
        queue = celery.amqp.queues[settings.celery_queue](connection.default_channel)
        queue.declare()  # so that this channel knows its bindings, which `delete` removes too
        queue.delete()
        queue.exchange.delete()
{%- else %}
    return settings
{%- endif %}


@pytest.fixture(scope="session")
async def database_url(base_settings: Settings) -> AsyncIterator[str]:
    async with scratch_database(str(base_settings.database_url)) as url:
        await asyncio.to_thread(migrate, url)
        yield url


@pytest.fixture(scope="session")
async def redis_reachable(base_settings: Settings) -> None:
    client = Redis.from_url(str(base_settings.redis_url), socket_connect_timeout=5)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the service is missing
        pytest.fail(
            f"Redis is not reachable at {without_password(str(base_settings.redis_url))} "
            f"({exc!r}). Start it (for example `docker compose up -d redis`) or set REDIS_URL.",
            pytrace=False,
        )
    finally:
        await client.aclose()


@pytest.fixture
async def settings(
    base_settings: Settings, database_url: str, redis_reachable: None
) -> AsyncIterator[Settings]:
    settings = base_settings.model_copy(
        update={
            "database_url": PostgresDsn(database_url),
            # Rate-limit counters of its own: Redis is shared with other tests and other runs.
            "rate_limit_key_prefix": f"{{ cookiecutter.project_slug }}-test-{uuid4().hex}",
            # The least Argon2 cost the settings allow, a fifth of the default's: tests sign up
            # hundreds of users. Servers started by the system tests keep the default cost.
            "password_hash_memory_kib": 19 * 1024,
            "password_hash_time_cost": 2,
        }
    )
    yield settings
    # Truncate rather than roll back: background tasks and pooled connections commit on their own.
    conn = await asyncpg.connect(database_url)
    try:
        tables = [row[0] for row in await conn.fetch(APP_TABLES)]
        await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    redis = Redis.from_url(str(settings.redis_url))
    try:  # the test's rate-limit counters (they would expire, but only after an hour)
        keys = [key async for key in redis.scan_iter(match=f"{settings.rate_limit_key_prefix}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
def client_for() -> ClientFactory:
    """`async with client_for(settings, configure) as client:` for tests that need other settings."""
    return running_client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_client(settings) as client:
        yield client


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound without listen, so connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A loopback port that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.fixture
def make_user(client: httpx.AsyncClient) -> UserFactory:
    """Sign a user up through the app's client and log them in; returns their id and headers."""

    async def make(email: str | None = None, display_name: str = "Ada") -> SignedUpUser:
        return await sign_up(client, email, display_name)

    return make
{%- if cookiecutter.include_celery == 'y' %}


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A real Celery worker process consuming this test's queue, stopped after the test."""
    process = start_worker(settings, tmp_path / "worker.log")
    yield process
    process.stop()
{%- endif %}


@pytest.fixture(autouse=True)
def blocking_guard() -> Iterator[BlockingCalls]:
    """S1 at run time: a blocking call on the event loop fails the test that made it.

    blockbuster swaps blocking functions (time.sleep, socket and file I/O, os.stat, waits on a
    held lock, ...) for checks that raise BlockingError when the calling thread runs an event
    loop and a frame of this package is on the stack: anything under our routes, dependencies,
    middleware or lifespan, down into the libraries they call. Test helpers that block outside
    the app are left alone, and work in the thread or process pool runs off the loop. The app
    may catch the error where it is raised (the middleware answers any exception with a 500,
    background tasks log their failures), so each call is also recorded, and fails the test
    when it ends.
    """
    calls = BlockingCalls()
    detector = BlockBuster(scanned_modules=[{{ cookiecutter.project_slug }}])
    for path, function, names in TOLERATED_BLOCKING:
        for name in names or detector.functions:
            detector.functions[name].can_block_in(path, function)
    for wrapped in detector.functions.values():
        calls.watch(wrapped)
    detector.activate()
    try:
        yield calls
    finally:
        detector.deactivate()
    if calls.caught:
        pytest.fail(calls.report(), pytrace=False)
