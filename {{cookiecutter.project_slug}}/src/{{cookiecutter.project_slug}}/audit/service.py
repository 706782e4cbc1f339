import json
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from {{ cookiecutter.project_slug }}.core.database import Connection

logger = structlog.get_logger(__name__)


async def record_event(
    conn: Connection, user_id: UUID | None, event: str, data: dict[str, Any]
) -> None:
    await conn.execute(
        "INSERT INTO audit_events (user_id, event, data) VALUES ($1, $2, $3::jsonb)",
        user_id,
        event,
        json.dumps(data),
    )


async def record_event_later(
    pool: asyncpg.Pool, user_id: UUID, event: str, data: dict[str, Any]
) -> None:
    """For BackgroundTasks: takes its own connection, since the request's is back in the pool."""
    try:
        async with pool.acquire() as conn:
            await record_event(conn, user_id, event, data)
    except Exception:
        # Fire-and-forget: nobody waits for this, so the log is the only place a failure can go.
        logger.exception("audit_event_failed", audit_event=event, user_id=str(user_id))


async def count_events(conn: Connection, user_id: UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM audit_events WHERE user_id = $1", user_id
    )
    return count
