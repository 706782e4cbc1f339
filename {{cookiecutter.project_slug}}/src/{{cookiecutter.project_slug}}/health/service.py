import asyncio
from collections.abc import Awaitable

import asyncpg
import structlog
from redis.asyncio import Redis

from {{ cookiecutter.project_slug }}.health.schemas import CheckStatus

logger = structlog.get_logger(__name__)


async def _check(name: str, probe: Awaitable[object], limit_s: float) -> CheckStatus:
    try:
        async with asyncio.timeout(limit_s):
            await probe
    except TimeoutError:
        logger.warning("readiness_check_timed_out", dependency=name, timeout_s=limit_s)
        return "timeout"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the log says which
        logger.warning("readiness_check_failed", dependency=name, error=repr(exc))
        return "unavailable"
    return "ok"


async def _ping_postgres(pool: asyncpg.Pool) -> None:
    conn = await pool.acquire()
    try:
        await conn.fetchval("SELECT 1")
    except BaseException:
        # No answer in time (or none at all): drop the connection instead of giving it back, as
        # giving back a connection that stopped answering waits for it, past the probe's limit.
        conn.terminate()
        raise
    finally:
        await pool.release(conn)  # a no-op once terminated


async def check_dependencies(
    pool: asyncpg.Pool, redis: Redis, limit_s: float
) -> dict[str, CheckStatus]:
    """Probe every dependency at once, each bounded by `limit_s` seconds."""
    postgres, redis_status = await asyncio.gather(
        _check("postgres", _ping_postgres(pool), limit_s),
        _check("redis", redis.ping(), limit_s),
    )
    return {"postgres": postgres, "redis": redis_status}


async def readiness(
    pool: asyncpg.Pool, redis: Redis, limit_s: float
) -> tuple[bool, dict[str, CheckStatus]]:
    """Whether every dependency answered in time, and each one's check."""
    checks = await check_dependencies(pool, redis, limit_s)
    return all(result == "ok" for result in checks.values()), checks
