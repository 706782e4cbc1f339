"""A dependency fails while the API runs: clients get a 503 in the common shape, never a 500 or a
hang, /health/ready says which dependency is down, and the API recovers by itself once it is back.

The app under test reaches PostgreSQL or Redis through tests/helpers/proxy.py, which the test cuts, slows
down or restores; the shared servers are never stopped. Each request made during a fault is
bounded by a deadline computed from the app's own timeout settings: a hang fails the test.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import PostgresDsn, RedisDsn

from {{ cookiecutter.project_slug }}.core.database import Conn
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.apps import ClientFactory
from tests.helpers.logs import LogEvents
from tests.helpers.polling import eventually
from tests.helpers.proxy import TcpProxy
from tests.helpers.users import UserFactory, refresh

SIGNUP = {"email": "ada@example.com", "password": "analytical engine 1843", "displayName": "Ada"}
DATABASE_DOWN = {
    "code": "service_unavailable",
    "message": "database is unavailable, try again shortly",
    "details": [],
}


def assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    request_id = response.headers["x-request-id"]
    assert response.json() == {"error": {**DATABASE_DOWN, "requestId": request_id}}


def fault_deadline(settings: Settings) -> float:
    """The longest one request may take while the database fails: getting a connection
    (connecting included), one query, then giving the broken connection back."""
    return 2 * settings.db_acquire_timeout + settings.db_command_timeout


@pytest.fixture
async def db_proxy(database_url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    proxy, url = await TcpProxy.to(database_url)
    yield proxy, url
    await proxy.stop()


@pytest.fixture
def proxied(settings: Settings, db_proxy: tuple[TcpProxy, str]) -> Settings:
    """The app's settings with PostgreSQL behind the proxy, and short timeouts."""
    return settings.model_copy(
        update={
            "database_url": PostgresDsn(db_proxy[1]),
            "db_connect_timeout": 1.0,
            "db_acquire_timeout": 1.0,
            "db_command_timeout": 2.0,
            "health_check_timeout": 1.0,
        }
    )


async def test_requests_waiting_on_the_database_when_it_is_cut_get_503(
    proxied: Settings,
    db_proxy: tuple[TcpProxy, str],
    client_for: ClientFactory,
    make_user: UserFactory,
) -> None:
    proxy, _ = db_proxy
    user = await make_user()
    async with client_for(proxied) as client:
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200
        proxy.delay = 0.5  # slow answers keep the requests waiting on PostgreSQL
        paths = ["/users/me", "/users/me/summary", "/users/me"]
        waiting = [asyncio.create_task(client.get(path, headers=user.headers)) for path in paths]

        async def all_waiting() -> bool:
            return proxy.held >= len(paths)

        await eventually(all_waiting)
        proxy.cut()  # every established connection is reset, new ones are refused
        async with asyncio.timeout(fault_deadline(proxied)):
            responses = await asyncio.gather(*waiting)
    for response in responses:
        assert_database_unavailable(response)


async def test_api_answers_503_while_the_database_is_down_and_recovers_without_restart(
    proxied: Settings,
    db_proxy: tuple[TcpProxy, str],
    client_for: ClientFactory,
    make_user: UserFactory,
) -> None:
    proxy, _ = db_proxy
    user = await make_user()
    async with client_for(proxied) as client:
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200
        proxy.cut()
        for method, path, body in [
            ("GET", "/users/me", None),
            ("PATCH", "/users/me", {"displayName": "written while the database is down"}),
            ("GET", "/users/me/summary", None),
            ("POST", "/auth/signup", SIGNUP),
            ("POST", "/auth/refresh", {"refresh_token": user.refresh_token}),
            ("POST", "/auth/logout", None),
        ]:
            async with asyncio.timeout(fault_deadline(proxied)):
                response = await client.request(method, path, json=body, headers=user.headers)
            assert_database_unavailable(response)
        async with asyncio.timeout(proxied.health_check_timeout + 1):
            ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "unavailable",
            "checks": {"postgres": "unavailable", "redis": "ok"},
        }

        proxy.open = True  # the database is back; the app is not restarted
        assert (await client.get("/health/ready")).status_code == 200
        # The refused write left nothing behind; the one after the recovery is there.
        before = (await client.get("/users/me", headers=user.headers)).json()
        after = {"displayName": "written once it is back"}
        changed = await client.patch("/users/me", json=after, headers=user.headers)
        assert changed.status_code == 200
        me = (await client.get("/users/me", headers=user.headers)).json()
        # Neither the refresh nor the logout happened: the session and its token are as they were.
        refreshed = await refresh(client, user.refresh_token)
        assert refreshed.status_code == 200
    assert before["displayName"] == "Ada"
    assert me["displayName"] == "written once it is back"


async def test_a_refresh_cut_off_mid_transaction_spends_nothing(
    proxied: Settings,
    db_proxy: tuple[TcpProxy, str],
    client_for: ClientFactory,
    make_user: UserFactory,
    database_url: str,
) -> None:
    """The connection is lost after the old token is marked spent and before its successor is
    stored: the transaction rolls back, so the old token still works once."""
    proxy, _ = db_proxy
    user = await make_user()
    admin = await asyncpg.connect(database_url)
    try:
        # Holds the INSERT of the successor token, inside the refresh's transaction.
        await admin.execute(
            """CREATE FUNCTION test_hold_insert() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$;
            CREATE TRIGGER test_hold_insert BEFORE INSERT ON refresh_tokens
            FOR EACH ROW EXECUTE FUNCTION test_hold_insert();"""
        )

        sleeping: list[int] = []

        async def held() -> bool:
            rows = await admin.fetch(
                "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                "AND query LIKE 'INSERT INTO refresh_tokens%'"
            )
            sleeping[:] = [row["pid"] for row in rows]
            return bool(sleeping)

        async with client_for(proxied) as client:
            request = asyncio.create_task(refresh(client, user.refresh_token))
            await eventually(held)
            proxy.cut()
            async with asyncio.timeout(fault_deadline(proxied)):
                assert_database_unavailable(await request)
            # The server sees the client gone when the sleep ends; end the backend now instead.
            [pid] = sleeping
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            await admin.execute(
                "DROP TRIGGER test_hold_insert ON refresh_tokens; DROP FUNCTION test_hold_insert()"
            )
            proxy.open = True
            counts = await admin.fetchrow(
                "SELECT count(*) AS tokens, count(spent_at) AS spent FROM refresh_tokens"
            )
            assert counts is not None
            assert dict(counts) == {"tokens": 1, "spent": 0}
            refreshed = await refresh(client, user.refresh_token)
            assert refreshed.status_code == 200, refreshed.text
    finally:
        await admin.execute(
            "DROP TRIGGER IF EXISTS test_hold_insert ON refresh_tokens; "
            "DROP FUNCTION IF EXISTS test_hold_insert()"
        )
        await admin.close()


async def test_database_that_stops_answering_is_503_within_the_timeouts(
    proxied: Settings,
    db_proxy: tuple[TcpProxy, str],
    client_for: ClientFactory,
    make_user: UserFactory,
) -> None:
    proxy, _ = db_proxy
    user = await make_user()
    async with client_for(proxied) as client:
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200
        proxy.delay = 3600  # connections stay open but nothing comes back: a network partition
        async with asyncio.timeout(fault_deadline(proxied)):
            assert_database_unavailable(await client.get("/users/me", headers=user.headers))
        async with asyncio.timeout(proxied.health_check_timeout + 1):
            ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"postgres": "timeout", "redis": "ok"}

        proxy.delay = 0
        assert (await client.get("/users/me", headers=user.headers)).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200


async def test_authentication_holds_no_connection_while_the_route_runs(
    settings: Settings, client_for: ClientFactory, make_user: UserFactory
) -> None:
    # The summary asks the pool for a connection per query, all at once. Had authentication kept
    # the one it read the user on, a pool of one could never serve it (503 after the acquire
    # timeout).
    user = await make_user()
    tiny = settings.model_copy(
        update={"db_pool_min_size": 1, "db_pool_max_size": 1, "db_acquire_timeout": 0.5}
    )
    async with client_for(tiny) as client, asyncio.timeout(fault_deadline(tiny)):
        response = await client.get("/users/me/summary", headers=user.headers)
    assert response.status_code == 200, response.text


async def test_one_users_concurrent_summaries_do_not_starve_other_users(
    settings: Settings, client_for: ClientFactory, make_user: UserFactory
) -> None:
    busy, other = await make_user(), await make_user()
    small = settings.model_copy(update={"db_pool_min_size": 1, "db_pool_max_size": 4})
    async with client_for(small) as client:
        summaries = [client.get("/users/me/summary", headers=busy.headers) for _ in range(30)]
        *responses, others = await asyncio.gather(
            *summaries, client.get("/users/me", headers=other.headers)
        )
    assert [r.status_code for r in responses] == [200] * 30
    assert others.status_code == 200


def probe_routes(gate: asyncio.Event, lent: list[Any]) -> Callable[[FastAPI], None]:
    def configure(app: FastAPI) -> None:
        router = APIRouter(prefix="/test")

        @router.get("/query-after-gate")
        async def query_after_gate(conn: Conn) -> dict[str, int]:
            lent.append(conn)
            await gate.wait()
            return {"answer": await conn.fetchval("SELECT 42")}

        @router.get("/own-timeout")
        async def own_timeout(conn: Conn) -> None:
            await conn.fetchval("SELECT 1")
            async with asyncio.timeout(0):
                await asyncio.sleep(1)

        app.include_router(router)

    return configure


async def test_connection_lost_between_acquire_and_first_query_is_503(
    proxied: Settings, db_proxy: tuple[TcpProxy, str], client_for: ClientFactory
) -> None:
    proxy, _ = db_proxy
    gate, lent = asyncio.Event(), list[Any]()

    async def connection_lent() -> bool:
        return bool(lent)

    async def connection_lost() -> bool:
        try:
            return bool(lent[0].is_closed())
        except asyncpg.InterfaceError:  # asyncpg already took the dead connection back
            return True

    async with client_for(proxied, probe_routes(gate, lent)) as client:
        request = asyncio.create_task(client.get("/test/query-after-gate"))
        await eventually(connection_lent)
        proxy.cut()
        await eventually(connection_lost)
        gate.set()  # the route now queries a connection that is already gone
        async with asyncio.timeout(fault_deadline(proxied)):
            assert_database_unavailable(await request)


async def test_a_routes_own_timeout_stays_a_500(
    proxied: Settings, client_for: ClientFactory
) -> None:
    # Only a failed connection becomes a 503; a route's own error with a healthy one does not.
    apps: list[FastAPI] = []

    def configure(app: FastAPI) -> None:
        probe_routes(asyncio.Event(), [])(app)
        apps.append(app)

    async with client_for(proxied, configure) as client:
        response = await client.get("/test/own-timeout")
        pool = apps[0].state.pool
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert pool.get_idle_size() == pool.get_size()  # the healthy connection went back


async def test_service_starts_without_the_database_and_becomes_ready_when_it_returns(
    proxied: Settings,
    db_proxy: tuple[TcpProxy, str],
    client_for: ClientFactory,
    log_events: LogEvents,
) -> None:
    proxy, _ = db_proxy
    proxy.open = False
    login = {"username": SIGNUP["email"], "password": SIGNUP["password"]}
    async with client_for(proxied) as client:  # starts: the lifespan does not fail
        assert log_events("database_unreachable_at_startup")
        assert (await client.get("/health/live")).status_code == 200
        async with asyncio.timeout(proxied.health_check_timeout + 1):
            ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"postgres": "unavailable", "redis": "ok"}
        async with asyncio.timeout(fault_deadline(proxied)):
            assert_database_unavailable(await client.post("/auth/signup", json=SIGNUP))
            assert_database_unavailable(await client.post("/auth/token", data=login))

        proxy.open = True
        assert (await client.get("/health/ready")).status_code == 200
        assert (await client.post("/auth/signup", json=SIGNUP)).status_code == 201
        token = await client.post("/auth/token", data=login)
        assert token.status_code == 200
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert (await client.get("/users/me", headers=headers)).json()["email"] == SIGNUP["email"]


async def test_redis_down_is_reported_and_database_routes_keep_serving(
    settings: Settings, client_for: ClientFactory, make_user: UserFactory
) -> None:
    proxy, url = await TcpProxy.to(str(settings.redis_url))
    redis_proxied = settings.model_copy(
        update={"redis_url": RedisDsn(url), "redis_timeout": 1.0, "health_check_timeout": 1.0}
    )
    user = await make_user()
    try:
        async with client_for(redis_proxied) as client:
            assert (await client.get("/health/ready")).status_code == 200
            proxy.cut()
            async with asyncio.timeout(redis_proxied.health_check_timeout + 1):
                ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json() == {
                "status": "unavailable",
                "checks": {"postgres": "ok", "redis": "unavailable"},
            }
            renamed = {"displayName": "Redis is down, PostgreSQL is not"}
            changed = await client.patch("/users/me", json=renamed, headers=user.headers)
            assert changed.status_code == 200
            me = (await client.get("/users/me", headers=user.headers)).json()
            assert me["displayName"] == renamed["displayName"]
            assert (await client.get("/users/me/summary", headers=user.headers)).status_code == 200

            proxy.open = True
            assert (await client.get("/health/ready")).status_code == 200
    finally:
        await proxy.stop()
