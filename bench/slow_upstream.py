"""A slow email provider on loopback: POST /emails answers after BENCH_UPSTREAM_DELAY seconds.

It stands in for a third-party HTTP API that is having a bad day, so the generated service's
shared httpx client has many requests waiting at once. GET /stats says how many arrived and
how many were waiting at most at the same time.
"""

import asyncio
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DELAY_S = float(os.environ.get("BENCH_UPSTREAM_DELAY", "3"))
_stats = {"received": 0, "in_flight": 0, "max_in_flight": 0}


async def send_email(request: Request) -> JSONResponse:
    await request.body()
    _stats["received"] += 1
    _stats["in_flight"] += 1
    _stats["max_in_flight"] = max(_stats["max_in_flight"], _stats["in_flight"])
    try:
        await asyncio.sleep(DELAY_S)
    finally:
        _stats["in_flight"] -= 1
    return JSONResponse({"id": "bench"})


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(_stats)


async def reset(request: Request) -> JSONResponse:
    _stats.update(received=0, max_in_flight=_stats["in_flight"])
    return JSONResponse(_stats)


app = Starlette(
    routes=[
        Route("/emails", send_email, methods=["POST"]),
        Route("/stats", stats),
        Route("/reset", reset, methods=["POST"]),
    ]
)
