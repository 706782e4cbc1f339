"""SQL for users. Functions take a connection and values and return plain records (dicts).

`UserRecord` never holds the password hash: only the login path reads it, through
`get_credentials`.
"""

from datetime import datetime
from typing import Literal, TypedDict, cast
from uuid import UUID

import asyncpg

from {{ cookiecutter.project_slug }}.core.database import Connection

USER_COLUMNS = "id, email, display_name, role, is_active, email_verified, created_at, updated_at"


Role = Literal["user", "admin"]


class UserRecord(TypedDict):
    id: UUID
    email: str
    display_name: str
    role: Role
    is_active: bool
    email_verified: bool
    created_at: datetime
    updated_at: datetime


class Credentials(TypedDict):
    id: UUID
    display_name: str
    password_hash: str
    is_active: bool
    email_verified: bool


class DuplicateEmailError(Exception):
    pass


async def create_user(
    conn: Connection,
    email: str,
    password_hash: str,
    display_name: str,
    *,
    role: Role = "user",
    email_verified: bool = False,
) -> UserRecord:
    try:
        row = await conn.fetchrow(
            f"""INSERT INTO users (email, password_hash, display_name, role, email_verified)
            VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLUMNS}""",  # noqa: S608 - constant column list
            email,
            password_hash,
            display_name,
            role,
            email_verified,
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
    row = await conn.fetchrow(
        """SELECT id, display_name, password_hash, is_active, email_verified FROM users
        WHERE email = $1""",
        email,
    )
    return cast(Credentials, dict(row)) if row is not None else None


async def update_user(conn: Connection, user_id: UUID, *, display_name: str) -> UserRecord:
    row = await conn.fetchrow(
        f"""UPDATE users SET display_name = $2, updated_at = now()
        WHERE id = $1 RETURNING {USER_COLUMNS}""",  # noqa: S608 - constant column list
        user_id,
        display_name,
    )
    return cast(UserRecord, dict(row))  # type: ignore[arg-type]


async def change_email(conn: Connection, user_id: UUID, email: str) -> UserRecord:
    """A new address, unverified until its link is used; DuplicateEmailError if taken."""
    try:
        row = await conn.fetchrow(
            f"""UPDATE users SET email = $2, email_verified = false, updated_at = now()
            WHERE id = $1 RETURNING {USER_COLUMNS}""",  # noqa: S608 - constant column list
            user_id,
            email,
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateEmailError(email) from exc
    return cast(UserRecord, dict(row))  # type: ignore[arg-type]


async def set_password(conn: Connection, user_id: UUID, password_hash: str) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )


async def upgrade_password_hash(conn: Connection, user_id: UUID, old: str, new: str) -> None:
    """Store `new`, a hash of the same password at today's cost, unless the password changed
    meanwhile."""
    await conn.execute(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
        user_id,
        old,
        new,
    )


async def reset_password(conn: Connection, user_id: UUID, email: str, password_hash: str) -> bool:
    """Set the password from a reset link sent to `email`, only if that is still the account's
    address, and count the address as verified (the link reached it); whether it was set."""
    result = await conn.execute(
        """UPDATE users SET password_hash = $3, email_verified = true, updated_at = now()
        WHERE id = $1 AND email = $2""",
        user_id,
        email,
        password_hash,
    )
    return result == "UPDATE 1"


async def list_users(conn: Connection, limit: int, offset: int) -> list[UserRecord]:
    """Every account, oldest first: for administrators."""
    rows = await conn.fetch(
        f"SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2",  # noqa: S608
        limit,
        offset,
    )
    return [cast(UserRecord, dict(row)) for row in rows]


async def count_users(conn: Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM users")
    return count


async def set_active(conn: Connection, user_id: UUID, *, active: bool) -> UserRecord:
    row = await conn.fetchrow(
        f"""UPDATE users SET is_active = $2, updated_at = now()
        WHERE id = $1 RETURNING {USER_COLUMNS}""",  # noqa: S608 - constant column list
        user_id,
        active,
    )
    return cast(UserRecord, dict(row))  # type: ignore[arg-type]


async def mark_email_verified(conn: Connection, user_id: UUID, email: str) -> bool:
    """The account's address is verified, if it still is `email`; whether it was."""
    result = await conn.execute(
        """UPDATE users SET email_verified = true, updated_at = now()
        WHERE id = $1 AND email = $2""",
        user_id,
        email,
    )
    return result == "UPDATE 1"


async def promote_to_admin(conn: Connection, email: str) -> UserRecord | None:
    """Give the account with this verified address the admin role and reactivate it; None if
    there is none (unverified accounts included)."""
    row = await conn.fetchrow(
        f"""UPDATE users SET role = 'admin', is_active = true, updated_at = now()
        WHERE email = $1 AND email_verified RETURNING {USER_COLUMNS}""",  # noqa: S608
        email,
    )
    return cast(UserRecord, dict(row)) if row is not None else None
