"""What both baselines share with each other and with the generated service.

The SQL is the service's own (same statements, same order, same row counts), the token check is
the same pyjwt call with the same pinned algorithm and required claims, and the JSON has the same
camelCase keys and the same datetime form. Only the framework around it differs.

Configuration comes from BENCH_* environment variables set by bench/run.py.
"""

import json
import os
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import jwt
from celery import Celery

ALGORITHM = "HS256"
TOKEN_TYPE = "access"  # noqa: S105 - a claim value
RUN_POSTS_REPORT = "posts.report"

USER_COLUMNS = (
    "id, email, password_hash, display_name, role, is_active, email_verified, created_at, "
    "updated_at"
)
POST_COLUMNS = "id, author_id, title, body, created_at, updated_at"
JOB_COLUMNS = (
    "id, owner_id, kind, status, params, result, error, attempts, created_at, started_at, "
    "finished_at"
)
# The user, while active and while the token's session is live, as the service reads it.
SELECT_USER = (
    f"SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND is_active AND EXISTS ("  # noqa: S608
    "SELECT 1 FROM sessions WHERE id = $2 AND user_id = $1 AND expires_at > now())"
)
SELECT_POST = f"SELECT {POST_COLUMNS} FROM posts WHERE id = $1"  # noqa: S608
LIST_POSTS = (
    f"SELECT {POST_COLUMNS} FROM posts WHERE author_id = $1 "  # noqa: S608
    "ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
)
COUNT_POSTS = "SELECT count(*) FROM posts WHERE author_id = $1"
INSERT_POST = (
    f"INSERT INTO posts (author_id, title, body) VALUES ($1, $2, $3) RETURNING {POST_COLUMNS}"  # noqa: S608
)
INSERT_JOB = (
    "INSERT INTO jobs (owner_id, kind, params) VALUES ($1, $2, $3::jsonb) "  # noqa: S608
    f"RETURNING {JOB_COLUMNS}"
)


class Config:
    def __init__(self) -> None:
        self.database_url = os.environ["BENCH_DATABASE_URL"]
        self.secret_key = os.environ["BENCH_SECRET_KEY"]
        self.token_issuer = os.environ["BENCH_TOKEN_ISSUER"]
        self.token_audience = os.environ["BENCH_TOKEN_AUDIENCE"]
        self.pool_min_size = int(os.environ.get("BENCH_DB_POOL_MIN_SIZE", "2"))
        self.pool_max_size = int(os.environ.get("BENCH_DB_POOL_MAX_SIZE", "10"))
        self.broker_url = os.environ["BENCH_CELERY_BROKER_URL"]
        self.queue = os.environ["BENCH_CELERY_QUEUE"]


async def create_pool(config: Config) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        config.database_url, min_size=config.pool_min_size, max_size=config.pool_max_size
    )


def create_celery(config: Config) -> Celery:
    celery = Celery("bench_baseline", broker=config.broker_url)
    celery.conf.update(task_serializer="json", task_default_queue=config.queue)
    return celery


def claims_from_header(authorization: str | None, config: Config) -> tuple[UUID, UUID] | None:
    """The user (`sub`) and session (`sid`) of a valid bearer token, checked exactly as the
    service checks it."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    try:
        claims = jwt.decode(
            authorization[7:],
            config.secret_key,
            algorithms=[ALGORITHM],
            issuer=config.token_issuer,
            audience=config.token_audience,
            options={"require": ["iss", "aud", "sub", "sid", "jti", "exp", "iat", "type"]},
        )
        if claims["type"] != TOKEN_TYPE:
            return None
        return UUID(claims["sub"]), UUID(claims["sid"])
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError):
        return None


def _timestamp(value: datetime | None) -> str | None:
    # pydantic writes UTC as "Z"; isoformat writes "+00:00".
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def post_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "authorId": str(row["author_id"]),
        "title": row["title"],
        "body": row["body"],
        "createdAt": _timestamp(row["created_at"]),
        "updatedAt": _timestamp(row["updated_at"]),
    }


def job_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "status": row["status"],
        "params": json.loads(row["params"]),
        "result": None if row["result"] is None else json.loads(row["result"]),
        "error": row["error"],
        "attempts": row["attempts"],
        "createdAt": _timestamp(row["created_at"]),
        "startedAt": _timestamp(row["started_at"]),
        "finishedAt": _timestamp(row["finished_at"]),
    }
