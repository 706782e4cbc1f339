"""SQL for posts. Ownership is checked in dependencies.py, not here."""

from datetime import datetime
from typing import TypedDict, cast
from uuid import UUID

from {{ cookiecutter.project_slug }}.core.database import Connection

_COLUMNS = "id, author_id, title, body, created_at, updated_at"


class PostRecord(TypedDict):
    id: UUID
    author_id: UUID
    title: str
    body: str
    created_at: datetime
    updated_at: datetime


async def create_post(conn: Connection, author_id: UUID, title: str, body: str) -> PostRecord:
    row = await conn.fetchrow(
        f"INSERT INTO posts (author_id, title, body) VALUES ($1, $2, $3) RETURNING {_COLUMNS}",  # noqa: S608 - constant column list
        author_id,
        title,
        body,
    )
    return cast(PostRecord, dict(row))  # type: ignore[arg-type]


async def get_post(conn: Connection, post_id: UUID) -> PostRecord | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM posts WHERE id = $1", post_id)  # noqa: S608
    return cast(PostRecord, dict(row)) if row is not None else None


async def list_posts(
    conn: Connection, author_id: UUID, limit: int, offset: int
) -> list[PostRecord]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM posts WHERE author_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",  # noqa: S608
        author_id,
        limit,
        offset,
    )
    return [cast(PostRecord, dict(row)) for row in rows]


async def count_posts(conn: Connection, author_id: UUID) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM posts WHERE author_id = $1", author_id)
    return count


async def update_post(
    conn: Connection, post_id: UUID, *, title: str | None = None, body: str | None = None
) -> PostRecord:
    """Change the given values (None leaves a column as it is); return the new record."""
    row = await conn.fetchrow(
        f"""UPDATE posts SET title = coalesce($2, title), body = coalesce($3, body), updated_at = now()
        WHERE id = $1 RETURNING {_COLUMNS}""",  # noqa: S608 - constant column list
        post_id,
        title,
        body,
    )
    return cast(PostRecord, dict(row))  # type: ignore[arg-type]


async def delete_post(conn: Connection, post_id: UUID) -> None:
    await conn.execute("DELETE FROM posts WHERE id = $1", post_id)


async def fetch_post_texts(conn: Connection, author_id: UUID, limit: int) -> list[dict[str, str]]:
    """At most `limit` of the author's posts: a report over more is refused without loading all."""
    rows = await conn.fetch(
        "SELECT id::text AS id, title, body FROM posts WHERE author_id = $1 LIMIT $2",
        author_id,
        limit,
    )
    return [dict(row) for row in rows]
