"""SQL for sessions and their refresh tokens.

A session is one login on one device. POST /auth/token opens it and issues its first refresh
token; POST /auth/refresh spends that token and issues the next, in one transaction, so a
refresh either happens completely or not at all. A spent token stays in the table while its
session lives: presented again, it shows that two parties hold the session's tokens (one of
them stole it), and the session ends for both. Ending a session deletes it, and its tokens
with it.

Tokens are 256 random bits, stored as their SHA-256: a fast hash is enough for a value nobody
can guess (stretching like Argon2 is for passwords), and a copy of the table holds nothing that
can be presented. Ownership is checked in dependencies.py, not here.
"""

from datetime import datetime, timedelta
from typing import TypedDict, cast
from uuid import UUID

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.core.database import Connection
from {{ cookiecutter.project_slug }}.core.tokens import hash_opaque_token, new_opaque_token
from {{ cookiecutter.project_slug }}.sessions.exceptions import (
    InvalidRefreshTokenError,
    RefreshTokenReusedError,
)
from {{ cookiecutter.project_slug }}.users.service import USER_COLUMNS, UserRecord

_COLUMNS = "id, user_id, created_at, last_used_at, expires_at, user_agent, address"
# What is kept of the client's own description of itself.
MAX_USER_AGENT_LENGTH = 256


class SessionRecord(TypedDict):
    id: UUID
    user_id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    address: str


async def open_session(
    conn: Connection,
    user_id: UUID,
    *,
    lifetime: timedelta,
    user_agent: str,
    address: str,
    max_sessions: int,
) -> tuple[SessionRecord, str]:
    """A new session for the user and its first refresh token.

    The user's expired sessions are deleted, and beyond `max_sessions` the least recently used
    ones, so logging in again and again does not grow the table.
    """
    token, token_hash = new_opaque_token()
    async with conn.transaction():
        row = await conn.fetchrow(
            f"""INSERT INTO sessions (user_id, expires_at, user_agent, address)
            VALUES ($1, now() + $2::interval, $3, $4) RETURNING {_COLUMNS}""",  # noqa: S608 - constant column list
            user_id,
            lifetime,
            user_agent[:MAX_USER_AGENT_LENGTH],
            address,
        )
        session = cast(SessionRecord, dict(row))  # type: ignore[arg-type]
        await conn.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)",
            token_hash,
            session["id"],
        )
        await conn.execute(
            """DELETE FROM sessions WHERE user_id = $1 AND (expires_at <= now() OR id IN (
                SELECT id FROM sessions WHERE user_id = $1 AND expires_at > now()
                ORDER BY last_used_at DESC, created_at DESC OFFSET $2))""",
            user_id,
            max_sessions,
        )
    return session, token


async def rotate(
    conn: Connection, token: str, *, lifetime: timedelta, user_agent: str, address: str
) -> tuple[SessionRecord, str]:
    """Spend `token` and issue its successor; the session lasts `lifetime` from now.

    InvalidRefreshTokenError if no live session issued it; RefreshTokenReusedError, after
    ending the session, if it was spent before.
    """
    new_token, new_hash = new_opaque_token()
    token_hash = hash_opaque_token(token)
    async with conn.transaction():
        # The session row is locked first, as a logout's DELETE locks it first: two refreshes
        # with one token take turns (the second finds the token spent), and a refresh and a
        # logout never wait on each other's rows in opposite order.
        session = await conn.fetchrow(
            """SELECT s.id, s.user_id FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
            JOIN users u ON u.id = s.user_id
            WHERE t.token_hash = $1 AND s.expires_at > now() AND u.is_active
            FOR UPDATE OF s""",
            token_hash,
        )
        if session is None:
            raise InvalidRefreshTokenError
        session_id: UUID = session["id"]
        user_id: UUID = session["user_id"]
        spent = await conn.execute(
            "UPDATE refresh_tokens SET spent_at = now() WHERE token_hash = $1 AND spent_at IS NULL",
            token_hash,
        )
        if spent == "UPDATE 1":
            await conn.execute(
                "INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)",
                new_hash,
                session_id,
            )
            # Spent tokens are kept for one session lifetime: replaying an older one still fails
            # (as unknown), it only no longer ends the session.
            await conn.execute(
                """DELETE FROM refresh_tokens WHERE session_id = $1
                AND spent_at IS NOT NULL AND created_at < now() - $2::interval""",
                session_id,
                lifetime,
            )
            row = await conn.fetchrow(
                f"""UPDATE sessions SET last_used_at = now(), expires_at = now() + $2::interval,
                user_agent = $3, address = $4 WHERE id = $1 RETURNING {_COLUMNS}""",  # noqa: S608 - constant column list
                session_id,
                lifetime,
                user_agent[:MAX_USER_AGENT_LENGTH],
                address,
            )
            return cast(SessionRecord, dict(row)), new_token  # type: ignore[arg-type]
        await conn.execute("DELETE FROM sessions WHERE id = $1", session_id)
        await audit_service.record_event(
            conn, user_id, "session.refresh_token_reused", {"session_id": str(session_id)}
        )
    raise RefreshTokenReusedError(session_id, user_id)


async def get_signed_in_user(
    conn: Connection, user_id: UUID, session_id: UUID
) -> UserRecord | None:
    """The user, if active and the session is theirs and still live: one query, run on every
    request."""
    row = await conn.fetchrow(
        f"""SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND is_active AND EXISTS (
            SELECT 1 FROM sessions WHERE id = $2 AND user_id = $1 AND expires_at > now())""",  # noqa: S608 - constant column list
        user_id,
        session_id,
    )
    return cast(UserRecord, dict(row)) if row is not None else None


async def get_session(conn: Connection, session_id: UUID) -> SessionRecord | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM sessions WHERE id = $1 AND expires_at > now()",  # noqa: S608
        session_id,
    )
    return cast(SessionRecord, dict(row)) if row is not None else None


async def list_sessions(conn: Connection, user_id: UUID) -> list[SessionRecord]:
    """The user's live sessions, most recently used first (at most MAX_SESSIONS_PER_USER)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM sessions WHERE user_id = $1 AND expires_at > now()
        ORDER BY last_used_at DESC, created_at DESC""",  # noqa: S608 - constant column list
        user_id,
    )
    return [cast(SessionRecord, dict(row)) for row in rows]


async def end_session(conn: Connection, session_id: UUID) -> None:
    await conn.execute("DELETE FROM sessions WHERE id = $1", session_id)


async def end_sessions(conn: Connection, user_id: UUID, *, keep: UUID | None = None) -> int:
    """End every session of the user, except `keep` if given; how many ended."""
    result = await conn.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2", user_id, keep
    )
    return int(result.split()[-1])


async def delete_expired(conn: Connection) -> int:
    """Delete the sessions whose refresh token lapsed (their tokens go with them); how many.

    A user's expired sessions also go at their next login; this is for those who never return.
    """
    deleted = await conn.execute("DELETE FROM sessions WHERE expires_at <= now()")
    return int(deleted.split()[-1])
