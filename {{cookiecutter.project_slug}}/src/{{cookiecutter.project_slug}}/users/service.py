"""SQL for users. Functions take a connection and values and return plain records (dicts)."""

from datetime import datetime
from typing import Any, TypedDict, cast
from uuid import UUID

import asyncpg

from {{ cookiecutter.project_slug }}.database import Connection

_COLUMNS = "id, email, password_hash, display_name, created_at, updated_at"


class UserRecord(TypedDict):
    id: UUID
    email: str
    password_hash: str
    display_name: str
    created_at: datetime
    updated_at: datetime


def _user(row: asyncpg.Record | None) -> UserRecord | None:
    return cast(UserRecord, dict(row)) if row is not None else None


class DuplicateEmailError(Exception):
    pass


async def create_user(
    conn: Connection, email: str, password_hash: str, display_name: str
) -> UserRecord:
    try:
        row = await conn.fetchrow(
            f"INSERT INTO users (email, password_hash, display_name) VALUES ($1, $2, $3) RETURNING {_COLUMNS}",  # noqa: S608 - constant column list
            email,
            password_hash,
            display_name,
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateEmailError(email) from exc
    return cast(UserRecord, dict(row))  # type: ignore[arg-type]


async def get_user(conn: Connection, user_id: UUID) -> UserRecord | None:
    return _user(await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1", user_id))  # noqa: S608


async def get_user_by_email(conn: Connection, email: str) -> UserRecord | None:
    return _user(await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE email = $1", email))  # noqa: S608


async def update_user(conn: Connection, user_id: UUID, changes: dict[str, Any]) -> UserRecord:
    """Apply the given columns (already validated by the schema) and return the new record."""
    allowed = {"display_name", "password_hash"}
    assignments = [
        f"{column} = ${n}" for n, column in enumerate(changes, start=2) if column in allowed
    ]
    if len(assignments) != len(changes):
        msg = f"cannot update {sorted(set(changes) - allowed)}"
        raise ValueError(msg)
    row = await conn.fetchrow(
        f"UPDATE users SET {', '.join(assignments)}, updated_at = now() WHERE id = $1 RETURNING {_COLUMNS}",  # noqa: S608 - names from the allow-list above
        user_id,
        *changes.values(),
    )
    return cast(UserRecord, dict(row))  # type: ignore[arg-type]
