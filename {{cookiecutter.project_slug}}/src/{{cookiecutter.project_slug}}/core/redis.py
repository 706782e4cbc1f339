"""The Redis client: one per process, opened by `lifespan`, reached through `RedisClient`."""

from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis

from {{ cookiecutter.project_slug }}.core.settings import Settings


def create_redis(settings: Settings) -> Redis:
    # Connects on first use; `aclose()` in the lifespan closes its connection pool.
    return Redis.from_url(
        str(settings.redis_url),
        socket_connect_timeout=settings.redis_timeout,
        socket_timeout=settings.redis_timeout,
    )


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


RedisClient = Annotated[Redis, Depends(get_redis)]
