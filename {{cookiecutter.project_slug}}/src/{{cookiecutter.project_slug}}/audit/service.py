"""SQL for the audit trail: what happened to an account, written as it happens and never changed.

Ownership is checked in dependencies.py, not here.
"""

import json
from datetime import datetime
from typing import Any, TypedDict, cast
from uuid import UUID

import asyncpg
import structlog

from {{ cookiecutter.project_slug }}.core.database import Connection

logger = structlog.get_logger(__name__)
_COLUMNS = "id, user_id, event, data, created_at"


class AuditEventRecord(TypedDict):
    id: int
    user_id: UUID | None
    event: str
    data: dict[str, Any]
    created_at: datetime


def _event(row: asyncpg.Record) -> AuditEventRecord:
    event = dict(row)
    event["data"] = json.loads(event["data"])
    return cast(AuditEventRecord, event)


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


async def list_events(
    conn: Connection, user_id: UUID, limit: int, offset: int
) -> list[AuditEventRecord]:
    """The user's events, newest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM audit_events WHERE user_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",  # noqa: S608 - constant column list
        user_id,
        limit,
        offset,
    )
    return [_event(row) for row in rows]


async def get_event(conn: Connection, event_id: int) -> AuditEventRecord | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM audit_events WHERE id = $1", event_id)  # noqa: S608
    return _event(row) if row is not None else None
