"""One hostile client against a real server (uvicorn in its own process), each attack bounded.

For each attack, `/health/live` is polled while it runs: the attacker gets a quick 4xx or 503 in
the common error shape, the probe's worst latency stays within a small multiple of its idle
latency (printed, with the server's memory, for the record), the server's memory stays within
a stated budget, and another user is served as usual. Every request goes to 127.0.0.1 only.
"""

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from {{ cookiecutter.project_slug }}.auth.schemas import MAX_PASSWORD_LENGTH
from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.servers import Server, uvicorn_process
from tests.helpers.users import DEFAULT_PASSWORD, sign_up

MIB = 1024 * 1024
# The probe may be this many times slower than idle while an attack runs, and never needs to
# be faster than the floor: a shared 2-core machine varies by that much on its own.
PROBE_SLOWDOWN = 20
PROBE_FLOOR_S = 0.5
STRENGTH_PATH = "/auth/password-strength"


@dataclass
class Probe:
    idle_s: float
    worst_s: float = 0.0
    samples: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.worst_s / self.idle_s

    def assert_responsive(self, attack: str) -> None:
        limit = max(PROBE_SLOWDOWN * self.idle_s, PROBE_FLOOR_S)
        print(  # noqa: T201 - the figures the closing report quotes
            f"\n{attack}: probe idle {self.idle_s * 1000:.1f} ms, worst {self.worst_s * 1000:.1f} ms "
            f"({self.ratio:.1f}x), {len(self.samples)} probes"
        )
        assert self.worst_s <= limit, f"{attack}: /health/live took {self.worst_s:.2f} s"


async def timed_get(client: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    response = await client.get(path)
    assert response.status_code == 200
    return time.perf_counter() - started


@asynccontextmanager
async def probing(server: Server) -> AsyncIterator[Probe]:
    """Measure /health/live idle, then poll it until the block ends."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        idle = [await timed_get(client, "/health/live") for _ in range(20)]
        probe = Probe(idle_s=statistics.median(idle))
        stop = asyncio.Event()

        async def poll() -> None:
            while not stop.is_set():
                probe.samples.append(await timed_get(client, "/health/live"))
                await asyncio.sleep(0.01)

        poller = asyncio.create_task(poll())
        try:
            yield probe
        finally:
            stop.set()
            await poller
            probe.worst_s = max(probe.samples, default=0.0)


@pytest.fixture
async def server(settings: Settings, tmp_path: Path) -> AsyncIterator[Server]:
    async with uvicorn_process(
        settings,
        tmp_path / "api.log",
        # X-Forwarded-For from 127.0.0.1, where every test request comes from, names the client
        # (uvicorn's default, stated here since the process pool test depends on it).
        uvicorn_args=(
            "--timeout-keep-alive",
            "1",
            "--proxy-headers",
            "--forwarded-allow-ips",
            "127.0.0.1",
        ),
        REQUEST_BODY_TIMEOUT="1",
        SIGNUP_MAX_PER_ADDRESS="1000",
    ) as running:
        yield running


async def attack_and_check(
    server: Server,
    name: str,
    attack: Callable[[httpx.AsyncClient], Awaitable[None]],
    memory_budget_mib: int,
) -> None:
    # A new connection per request: the server closes idle ones after a second, and a request
    # sent on one just as it closes fails with a ReadError that says nothing about the attack.
    no_keep_alive = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=60, limits=no_keep_alive
    ) as client:
        bystander = (await sign_up(client, display_name="Bystander")).headers
        rss_before = server.rss_bytes()
        server.reset_peak_rss()
        async with probing(server) as probe:
            await attack(client)
            # Meanwhile and afterwards, someone else is served as usual.
            assert (await client.get("/users/me", headers=bystander)).status_code == 200
        # The peak, not what is left afterwards: memory taken and given back still counts.
        grown_mib = (server.peak_rss_bytes() - rss_before) / MIB
    probe.assert_responsive(name)
    print(f"{name}: server memory grew {grown_mib:.0f} MiB at its peak")  # noqa: T201
    assert grown_mib <= memory_budget_mib


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["requestId"] == response.headers["x-request-id"]


async def test_a_long_path_of_key_words_is_answered_at_once(server: Server) -> None:
    async def attack(client: httpx.AsyncClient) -> None:
        response = await client.get("/" + "token" * 13_000)  # 65 KB
        assert_error(response, 404, "not_found")

    await attack_and_check(server, "65 KB path of key words", attack, memory_budget_mib=50)


async def test_a_body_of_many_unknown_keys_gets_a_short_422(server: Server) -> None:
    async def attack(client: httpx.AsyncClient) -> None:
        keys = ",".join(f'"k{i}":0' for i in range(90_000))  # just under 1 MiB
        body = (
            '{"email":"x@example.com","password":"correct horse 42","displayName":"X",' + keys + "}"
        )
        response = await client.post(
            "/auth/signup", content=body, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 422, "validation_error")
        assert len(response.content) < 10_000

    await attack_and_check(server, "90,000 unknown keys", attack, memory_budget_mib=100)


async def test_an_oversized_body_is_refused_before_it_is_read(server: Server) -> None:
    async def attack(client: httpx.AsyncClient) -> None:
        declared = await client.post(
            "/auth/signup",
            content=b"[" + b"{}," * 10_000_000 + b"{}]",  # 30 MB, Content-Length announced
            headers={"Content-Type": "application/json"},
        )
        assert_error(declared, 413, "content_too_large")

        async def chunks() -> AsyncIterator[bytes]:  # the same, streamed without a length
            yield b"["
            for _ in range(1000):
                yield b"{}," * 10_000
            yield b"{}]"

        streamed = await client.post(
            "/auth/signup", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert_error(streamed, 413, "content_too_large")

    await attack_and_check(server, "30 MB bodies", attack, memory_budget_mib=60)


async def test_an_oversized_token_is_refused_cheaply(server: Server) -> None:
    async def attack(client: httpx.AsyncClient) -> None:
        huge = "eyJhbGciOiJIUzI1NiJ9." + "A" * 1_000_000 + ".sig"
        response = await client.get("/users/me", headers={"Authorization": f"Bearer {huge}"})
        assert_error(response, 401, "invalid_token")

    await attack_and_check(server, "1 MB bearer token", attack, memory_budget_mib=60)


async def test_a_flood_of_sign_ups_stays_within_the_hashing_budget(server: Server) -> None:
    async def attack(client: httpx.AsyncClient) -> None:
        async def sign_up(n: int) -> httpx.Response:
            body = {
                "email": f"flood-{n}@example.com",
                "password": DEFAULT_PASSWORD,
                "displayName": "F",
            }
            return await client.post("/auth/signup", json=body)

        responses = await asyncio.gather(*[sign_up(n) for n in range(12)])
        assert {r.status_code for r in responses} <= {201, 503}
        assert any(r.status_code == 201 for r in responses)

    # PASSWORD_HASH_CONCURRENCY (4) hashes of 64 MiB at most, plus what the process keeps.
    await attack_and_check(server, "12 concurrent sign-ups", attack, memory_budget_mib=4 * 64 + 100)


async def test_a_body_that_trickles_in_is_cut_off(server: Server) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")

    async def attack(_client: httpx.AsyncClient) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            head = (
                f"POST /auth/signup HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
            writer.write(head.encode())
            sent = 0

            async def trickle() -> None:  # a byte every 0.2 s: the body would take 20 s
                nonlocal sent
                for _ in range(100):
                    writer.write(b" ")
                    await writer.drain()
                    sent += 1
                    await asyncio.sleep(0.2)

            sender = asyncio.create_task(trickle())
            try:
                status_line = await asyncio.wait_for(reader.readline(), 30)
            finally:
                sender.cancel()
        finally:
            writer.close()
        assert status_line.startswith(b"HTTP/1.1 408"), status_line
        assert sent < 25  # cut off within about 5 s (REQUEST_BODY_TIMEOUT is 1 s), not at the end

    await attack_and_check(server, "a trickled body", attack, memory_budget_mib=30)


async def test_an_idle_connection_is_closed(server: Server) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"GET /health/live HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        # The server closes a kept-alive connection that sends nothing (--timeout-keep-alive 1).
        async with asyncio.timeout(10):
            while await reader.read(65536):
                pass
    finally:
        writer.close()


async def test_one_address_cannot_take_the_process_pool_from_another(server: Server) -> None:
    # The longest password and user inputs a request may send; repeated digits are among the
    # shapes zxcvbn takes longest over.
    body = {"password": ("1234567890" * 13)[:MAX_PASSWORD_LENGTH], "userInputs": ["a" * 100] * 5}
    # Every request comes from 127.0.0.1, a proxy uvicorn trusts (see `server`): the address
    # each one is counted against is the one it forwards.
    hog = {"X-Forwarded-For": "10.0.0.1"}
    other = {"X-Forwarded-For": "10.0.0.2"}

    async def attack(client: httpx.AsyncClient) -> None:
        flood = [client.post(STRENGTH_PATH, json=body, headers=hog) for _ in range(30)]
        mine = client.post(STRENGTH_PATH, json=body, headers=other)
        *hogged, served = await asyncio.gather(*flood, mine)
        # The other address's estimate runs while the first address is at its limit.
        assert served.status_code == 200, served.text[:500]
        assert {r.status_code for r in hogged} <= {200, 429}
        refused = [r for r in hogged if r.status_code == 429]
        assert refused, "30 estimates at once should pass PROCESS_POOL_MAX_PER_CALLER (2)"
        assert_error(refused[0], 429, "too_many_concurrent_calls")
        assert refused[0].headers["retry-after"] == "1"
        # Its calls counted against the address it came from: once they end, it is served.
        assert (await client.post(STRENGTH_PATH, json=body, headers=hog)).status_code == 200

    await attack_and_check(server, "30 estimates from one address", attack, memory_budget_mib=100)
