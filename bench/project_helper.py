"""Small tasks bench/run.py runs with the generated project's interpreter (it has asyncpg).

python project_helper.py create-db URL NAME | drop-db URL NAME | job-stats URL | fail-queued URL | versions
"""

import asyncio
import json
import platform
import sys
from importlib.metadata import version

import asyncpg
from redis.asyncio import Redis

PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "uvicorn",
    "uvloop",
    "httptools",
    "asyncpg",
    "pyjwt",
    "structlog",
    "celery",
)


async def create_db(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_db(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def job_stats(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM jobs GROUP BY status")
    finally:
        await conn.close()
    print(json.dumps({row["status"]: row["n"] for row in rows}))


async def fail_queued(url: str) -> None:
    """Mark the jobs whose messages were purged as failed: they will never run."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE jobs SET status = 'failed', error = 'purged by the benchmark', "
            "finished_at = now() WHERE status = 'queued'"
        )
    finally:
        await conn.close()


async def versions(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        server = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    found = {"python": platform.python_version(), "postgresql": server}
    found |= {name: version(name) for name in PACKAGES}
    print(json.dumps(found))


async def drop_queue(broker_url: str, queue: str) -> None:
    """Delete one Redis-broker queue's own keys: its messages and kombu's bindings for it."""
    redis = Redis.from_url(broker_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{queue}*")]  # priority lists too
        keys += [f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"]
        await redis.delete(*keys)
    finally:
        await redis.aclose()


def main(argv: list[str]) -> None:
    command, *args = argv
    actions = {
        "create-db": create_db,
        "drop-db": drop_db,
        "job-stats": job_stats,
        "fail-queued": fail_queued,
        "versions": versions,
        "drop-queue": drop_queue,
    }
    asyncio.run(actions[command](*args))


if __name__ == "__main__":
    main(sys.argv[1:])
