"""Baseline 1: the same endpoints written directly on Starlette + asyncpg.

No dependency injection, no response models, no middleware, no logging: a handler reads the
token, runs the service's SQL on one pooled connection and returns JSON. This is roughly the
least a Python ASGI service can do per request.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.baselines import common

config = common.Config()


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code}}, status_code=status)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


async def _current_user(request: Request, conn: Any) -> Any:
    claims = common.claims_from_header(request.headers.get("authorization"), config)
    if claims is None:
        return None
    return await conn.fetchrow(common.SELECT_USER, *claims)


async def live(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def list_posts(request: Request) -> JSONResponse:
    limit = _int_param(request, "limit", 20, 1, 100)
    offset = _int_param(request, "offset", 0, 0, 1_000_000)
    if limit is None or offset is None:
        return _error(422, "validation_error")
    async with request.app.state.pool.acquire() as conn:
        user = await _current_user(request, conn)
        if user is None:
            return _error(401, "invalid_token")
        rows = await conn.fetch(common.LIST_POSTS, user["id"], limit, offset)
        total = await conn.fetchval(common.COUNT_POSTS, user["id"])
    return JSONResponse(
        {
            "items": [common.post_json(row) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        }
    )


async def read_post(request: Request) -> JSONResponse:
    try:
        post_id = UUID(request.path_params["post_id"])
    except ValueError:
        return _error(422, "validation_error")
    async with request.app.state.pool.acquire() as conn:
        user = await _current_user(request, conn)
        if user is None:
            return _error(401, "invalid_token")
        post = await conn.fetchrow(common.SELECT_POST, post_id)
    if post is None:
        return _error(404, "post_not_found")
    if post["author_id"] != user["id"]:
        return _error(403, "not_post_author")
    return JSONResponse(common.post_json(post))


def _valid_text(value: Any, max_length: int) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 1 <= len(value) <= max_length else None


async def create_post(request: Request) -> JSONResponse:
    try:
        data = await request.json()
    except ValueError:
        return _error(422, "validation_error")
    if not isinstance(data, dict) or set(data) - {"title", "body"}:
        return _error(422, "validation_error")
    title = _valid_text(data.get("title"), 200)
    body = _valid_text(data.get("body"), 20_000)
    if title is None or body is None:
        return _error(422, "validation_error")
    async with request.app.state.pool.acquire() as conn:
        user = await _current_user(request, conn)
        if user is None:
            return _error(401, "invalid_token")
        post = await conn.fetchrow(common.INSERT_POST, user["id"], title, body)
    return JSONResponse(common.post_json(post), status_code=201)


def _report_params(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or set(data) - {"maxPosts", "similarityThreshold", "maxPairs"}:
        return None
    max_posts = data.get("maxPosts", 5_000)
    threshold = data.get("similarityThreshold", 0.8)
    max_pairs = data.get("maxPairs", 100)
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (max_posts, max_pairs)):
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        return None
    if not (1 <= max_posts <= 50_000 and 0.1 <= threshold <= 1.0 and 1 <= max_pairs <= 1_000):
        return None
    return {"maxPosts": max_posts, "similarityThreshold": float(threshold), "maxPairs": max_pairs}


async def submit_job(request: Request) -> JSONResponse:
    try:
        params = _report_params(await request.json())
    except ValueError:
        params = None
    if params is None:
        return _error(422, "validation_error")
    async with request.app.state.pool.acquire() as conn:
        user = await _current_user(request, conn)
        if user is None:
            return _error(401, "invalid_token")
        job = await conn.fetchrow(common.INSERT_JOB, user["id"], "posts.report", json.dumps(params))
    celery = request.app.state.celery
    # kombu publishes with blocking socket I/O: in a thread, as the service does.
    await run_in_threadpool(
        celery.send_task, common.RUN_POSTS_REPORT, args=[str(job["id"])], retry=True
    )
    return JSONResponse(
        common.job_json(job),
        status_code=202,
        headers={"Location": f"{request.base_url}jobs/{job['id']}"},
    )


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await common.create_pool(config)
    app.state.celery = common.create_celery(config)
    yield
    await app.state.pool.close()
    app.state.celery.close()


app = Starlette(
    routes=[
        Route("/health/live", live),
        Route("/posts", list_posts, methods=["GET"]),
        Route("/posts", create_post, methods=["POST"]),
        Route("/posts/{post_id}", read_post),
        Route("/posts/report", submit_job, methods=["POST"]),
    ],
    lifespan=lifespan,
)
