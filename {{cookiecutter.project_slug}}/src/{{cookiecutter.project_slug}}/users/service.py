"""SQL for users. Functions take a connection and values and return plain records (dicts).

`UserRecord` never holds the password hash: only the login path reads it, through
`get_credentials`.
"""

from datetime import datetime
from typing import TypedDict, cast
from uuid import UUID

import asyncpg

from {{ cookiecutter.project_slug }}.core.database import Connection

USER_COLUMNS = "id, email, display_name, created_at, updated_at"


class UserRecord(TypedDict):
    id: UUID
    email: str
    display_name: str
    created_at: datetime
    updated_at: datetime


class Credentials(TypedDict):
    id: UUID
    password_hash: str


class DuplicateEmailError(Exception):
    pass


async def create_user(
    conn: Connection, email: str, password_hash: str, display_name: str
) -> UserRecord:
    try:
        row = await conn.fetchrow(
            f"INSERT INTO users (email, password_hash, display_name) VALUES ($1, $2, $3) RETURNING {USER_COLUMNS}",  # noqa: S608 - constant column list
            email,
            password_hash,
            display_name,
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateEmailError(email) from exc
    return cast(UserRecord, dict(row))  # type: ignore[arg-type]


async def get_user(conn: Connection, user_id: UUID) -> UserRecord | None:
    row = await conn.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE id = $1", user_id)  # noqa: S608
    return cast(UserRecord, dict(row)) if row is not None else None


async def email_taken(conn: Connection, email: str) -> bool:
    taken: bool = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)", email)
    return taken


async def get_credentials(conn: Connection, email: str) -> Credentials | None:
    row = await conn.fetchrow("SELECT id, password_hash FROM users WHERE email = $1", email)
    return cast(Credentials, dict(row)) if row is not None else None


async def update_user(conn: Connection, user_id: UUID, *, display_name: str) -> UserRecord:
    row = await conn.fetchrow(
        f"""UPDATE users SET display_name = $2, updated_at = now()
        WHERE id = $1 RETURNING {USER_COLUMNS}""",  # noqa: S608 - constant column list
        user_id,
        display_name,
    )
    return cast(UserRecord, dict(row))  # type: ignore[arg-type]


async def set_password(conn: Connection, user_id: UUID, password_hash: str) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )
