"""Soak: a real uvicorn process under sustained concurrent load, checked for errors and leaks.

Every run of the suite soaks for a few seconds; `make soak` runs the long version
(`pytest tests/system/test_soak.py --soak-seconds 60 --soak-connections 100`). The numbers (requests,
requests per second, resident memory) are printed; only correctness and memory are asserted.
"""

import asyncio
import time

import httpx
import pytest

from {{ cookiecutter.project_slug }}.core.settings import Settings

from tests.helpers.load import REQUEST_TIMEOUT_S, report, run_load
from tests.helpers.servers import uvicorn_process
from tests.helpers.users import sign_up

USERS = 4  # accounts the clients share; each sign-up hashes a password
MIB = 1024 * 1024
# Growth of resident memory allowed between the end of warm-up and the end of the soak. Warm-up
# runs the same mix at the same concurrency, so the pool connections, caches and allocator arenas
# the service needs are in place before the first measurement; growth after that is allocator
# noise or a leak. Noise measured here: +0.1 to +0.3 MiB over a 60 s soak at 100 connections.
# 8 MiB is well above that, yet a leak of 1 KiB per request crosses it after about 8,000
# requests: a 60 s soak catches it from about 140 requests/s (raise SOAK_SECONDS if slower).
RSS_MARGIN_BYTES = 8 * MIB


async def test_service_serves_sustained_load_without_errors_or_growing_memory(
    settings: Settings, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    seconds: float = request.config.getoption("--soak-seconds")
    connections: int = request.config.getoption("--soak-connections")
    log_path = tmp_path_factory.mktemp("soak") / "server.log"
    async with uvicorn_process(settings, log_path) as server:
        # Sign-ups hash passwords (Argon2): slow on purpose, so a generous timeout.
        async with httpx.AsyncClient(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S) as client:
            users = await asyncio.gather(*(sign_up(client) for _ in range(USERS)))
        warm_up = await run_load(server.base_url, users, connections, max(1.0, seconds / 10))
        rss_warm, cpu_warm = server.rss_bytes(), server.cpu_seconds()
        own_cpu_warm = time.process_time()
        soak = await run_load(server.base_url, users, connections, seconds)
        rss_after, cpu_used = server.rss_bytes(), server.cpu_seconds() - cpu_warm
        own_cpu_used = time.process_time() - own_cpu_warm
        report(
            request.config,
            f"\nsoak: {soak.requests} requests in {soak.seconds:.1f} s at {connections} "
            f"connections: {soak.rate:.0f} req/s, server CPU {cpu_used / soak.seconds:.0%} "
            f"({cpu_used * 1000 / max(soak.requests, 1):.1f} ms per request), load generator CPU "
            f"{own_cpu_used / soak.seconds:.0%}; statuses {dict(soak.statuses)}; RSS "
            f"{rss_warm / MIB:.1f} MiB after warm-up ({warm_up.requests} requests), "
            f"{rss_after / MIB:.1f} MiB after the soak ({(rss_after - rss_warm) / MIB:+.1f} MiB)",
        )
        assert not warm_up.failures, dict(warm_up.failures)
        assert not soak.failures, dict(soak.failures)
        assert soak.requests > 0
        assert rss_after - rss_warm <= RSS_MARGIN_BYTES, server.log_tail()
