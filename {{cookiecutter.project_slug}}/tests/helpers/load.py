"""Load generation for the soak test, and `report` for the numbers the load and fuzz tests print.

`run_load` keeps N connections busy (async httpx, one task per connection) with a mix of authenticated reads and
writes and health checks for a while, and counts what came back. Every route it calls is one every
project has.
"""

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.helpers.polling import eventually
from tests.helpers.users import SignedUpUser

REQUEST_TIMEOUT_S = 30


def report(config: pytest.Config, line: str) -> None:
    """Print a line to the terminal even while pytest captures output: the measured numbers."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# The requests of the mix and their weights: half reads (the caller's account, a page of its
# audit events, one event by id), a fifth writes to the account, the rest the two health probes.
MIX: list[tuple[str, int]] = [
    ("rename", 2),
    ("me", 2),
    ("events", 2),
    ("event", 1),
    ("live", 2),
    ("ready", 1),
]


async def _one_request(
    client: httpx.AsyncClient,
    user: SignedUpUser,
    event_id: int,
    rng: random.Random,
    result: LoadResult,
) -> None:
    action = rng.choices([name for name, _ in MIX], [weight for _, weight in MIX])[0]
    try:
        if action == "rename":
            name = f"Load {rng.randrange(1000)}"
            response = await client.patch(
                "/users/me", json={"displayName": name}, headers=user.headers
            )
            expected = 200
        elif action == "me":
            response = await client.get("/users/me", headers=user.headers)
            expected = 200
        elif action == "events":
            response = await client.get("/audit-events", params={"limit": 20}, headers=user.headers)
            expected = 200
        elif action == "event":
            response = await client.get(f"/audit-events/{event_id}", headers=user.headers)
            expected = 200
        else:
            response = await client.get(f"/health/{action}")
            expected = 200
    except httpx.HTTPError as exc:
        result.requests += 1
        result.failures[f"{action}: {exc!r}"] += 1
        return
    result.requests += 1
    result.statuses[response.status_code] += 1
    if response.status_code != expected:
        result.failures[f"{action}: {response.status_code} {response.text[:200]}"] += 1


async def _sign_up_event_id(client: httpx.AsyncClient, user: SignedUpUser) -> int:
    """The id of the user's sign-up event (recorded after the sign-up's response, so awaited)."""
    items: list[dict[str, Any]] = []

    async def recorded() -> bool:
        nonlocal items
        page = await client.get("/audit-events", params={"limit": 1}, headers=user.headers)
        assert page.status_code == 200, page.text
        items = page.json()["items"]
        return bool(items)

    await eventually(recorded)
    return int(items[0]["id"])


async def run_load(
    base_url: str, users: list[SignedUpUser], connections: int, seconds: float
) -> LoadResult:
    """`connections` clients, each sending the mix back to back for `seconds`."""
    result = LoadResult()
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections,
        # Below uvicorn's keep-alive timeout (5 s): reusing a connection the server is closing
        # at that moment fails the request, a client-side race that is not the service's error.
        keepalive_expiry=2.0,
    )
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_S
    ) as client:
        event_ids = {user.id: await _sign_up_event_id(client, user) for user in users}
        started = loop.time()
        stop_at = started + seconds

        async def client_loop(n: int) -> None:
            rng = random.Random(n)
            user = users[n % len(users)]
            while loop.time() < stop_at:
                await _one_request(client, user, event_ids[user.id], rng, result)

        async with asyncio.TaskGroup() as group:
            for n in range(connections):
                group.create_task(client_loop(n))
        result.seconds = loop.time() - started
    return result
