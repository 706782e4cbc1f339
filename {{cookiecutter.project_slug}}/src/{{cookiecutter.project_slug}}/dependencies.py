"""Typed access to the process-wide resources that `lifespan` keeps on `app.state`.

These are `async def` on purpose (S4): they do no I/O, and a plain `def` dependency would be
sent to the thread pool for nothing.
"""

from concurrent.futures import ProcessPoolExecutor
from typing import Annotated

import asyncpg
import httpx
{%- if cookiecutter.include_celery == 'y' %}
from celery import Celery
{%- endif %}
from fastapi import Depends, Request
from redis.asyncio import Redis

from {{ cookiecutter.project_slug }}.config import Settings


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


async def get_http_client(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.app.state.http_client
    return client


async def get_process_pool(request: Request) -> ProcessPoolExecutor:
    executor: ProcessPoolExecutor = request.app.state.process_pool
    return executor


{%- if cookiecutter.include_celery == 'y' %}


async def get_celery(request: Request) -> Celery:
    celery: Celery = request.app.state.celery
    return celery
{%- endif %}


SettingsDep = Annotated[Settings, Depends(get_settings)]
Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
RedisClient = Annotated[Redis, Depends(get_redis)]
HttpClient = Annotated[httpx.AsyncClient, Depends(get_http_client)]
ProcessPool = Annotated[ProcessPoolExecutor, Depends(get_process_pool)]
{%- if cookiecutter.include_celery == 'y' %}
CeleryClient = Annotated[Celery, Depends(get_celery)]
{%- endif %}
