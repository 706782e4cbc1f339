"""Baseline 2: the same endpoints as a minimal, idiomatic FastAPI + asyncpg app.

One dependency lends a pooled connection, one loads the caller from the bearer token, request
bodies are pydantic models with the service's constraints, and routes return plain dicts (no
response_model, no middleware, no logging).
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from bench.baselines import common

config = common.Config()


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)


class ReportParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maxPosts: int = Field(default=5_000, ge=1, le=50_000)
    similarityThreshold: float = Field(default=0.8, ge=0.1, le=1.0)
    maxPairs: int = Field(default=100, ge=1, le=1_000)


async def get_conn(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        yield conn


Conn = Annotated[asyncpg.Connection, Depends(get_conn)]


async def current_user(
    conn: Conn, authorization: Annotated[str | None, Header()] = None
) -> asyncpg.Record:
    claims = common.claims_from_header(authorization, config)
    user = None if claims is None else await conn.fetchrow(common.SELECT_USER, *claims)
    if user is None:
        raise HTTPException(401, "invalid_token")
    return user


User = Annotated[asyncpg.Record, Depends(current_user)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await common.create_pool(config)
    app.state.celery = common.create_celery(config)
    yield
    await app.state.pool.close()
    app.state.celery.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/health/live")
async def live() -> dict[str, Any]:
    return {"status": "ok"}


@app.get("/posts")
async def list_posts(
    user: User,
    conn: Conn,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    rows = await conn.fetch(common.LIST_POSTS, user["id"], limit, offset)
    total = await conn.fetchval(common.COUNT_POSTS, user["id"])
    return {
        "items": [common.post_json(row) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@app.get("/posts/{post_id}")
async def read_post(post_id: UUID, user: User, conn: Conn) -> dict[str, Any]:
    post = await conn.fetchrow(common.SELECT_POST, post_id)
    if post is None:
        raise HTTPException(404, "post_not_found")
    if post["author_id"] != user["id"]:
        raise HTTPException(403, "not_post_author")
    return common.post_json(post)


@app.post("/posts", status_code=201)
async def create_post(data: PostIn, user: User, conn: Conn) -> dict[str, Any]:
    post = await conn.fetchrow(common.INSERT_POST, user["id"], data.title, data.body)
    return common.post_json(post)


@app.post("/posts/report", status_code=202)
async def submit_job(
    data: ReportParams, user: User, conn: Conn, request: Request, response: Response
) -> dict[str, Any]:
    params = data.model_dump()
    job = await conn.fetchrow(common.INSERT_JOB, user["id"], "posts.report", json.dumps(params))
    # kombu publishes with blocking socket I/O: in a thread, as the service does.
    await run_in_threadpool(
        request.app.state.celery.send_task,
        common.RUN_POSTS_REPORT,
        args=[str(job["id"])],
        retry=True,
    )
    response.headers["Location"] = f"{request.base_url}jobs/{job['id']}"
    return common.job_json(job)
