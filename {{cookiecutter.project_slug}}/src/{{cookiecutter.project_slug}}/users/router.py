import asyncio
from typing import Any

from fastapi import APIRouter, status

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.auth import security
from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser
from {{ cookiecutter.project_slug }}.database import Conn, lend
from {{ cookiecutter.project_slug }}.dependencies import Pool, SettingsDep
from {{ cookiecutter.project_slug }}.errors import ErrorResponse
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.jobs import service as jobs_service
{%- endif %}
from {{ cookiecutter.project_slug }}.posts import service as posts_service
from {{ cookiecutter.project_slug }}.users import service
from {{ cookiecutter.project_slug }}.users.schemas import UserOut, UserSummary, UserUpdate

router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses={
        status.HTTP_401_UNAUTHORIZED: {
            "model": ErrorResponse,
            "description": "Missing or invalid token",
        }
    },
)

LATEST_POSTS = 5


@router.get("/me", response_model=UserOut, summary="The caller's account")
async def read_me(user: CurrentUser) -> dict[str, Any]:
    return dict(user)


@router.patch("/me", response_model=UserOut, summary="Change the caller's display name or password")
async def update_me(user: CurrentUser, data: UserUpdate, conn: Conn) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if data.display_name is not None:
        changes["display_name"] = data.display_name
    if data.password is not None:
        changes["password_hash"] = await security.hash_password(data.password)
    if not changes:
        return dict(user)
    return dict(await service.update_user(conn, user["id"], changes))


@router.get(
    "/me/summary",
    response_model=UserSummary,
    summary="Counts and latest posts, gathered concurrently",
)
async def read_summary(user: CurrentUser, pool: Pool, settings: SettingsDep) -> dict[str, Any]:
    # S17: independent queries at once. Each needs its own connection: one asyncpg
    # connection runs one query at a time, so sharing the request's would serialise them.
    # `lend` is `pool.acquire` with the request's rules: a database failure answers 503.
    async def on_own_connection(query: Any, *args: Any) -> Any:
        async with lend(pool, settings.db_acquire_timeout) as conn:
            return await query(conn, *args)

    post_count, latest_posts, audit_count{% if cookiecutter.include_celery == 'y' %}, job_count{% endif %} = await asyncio.gather(
        on_own_connection(posts_service.count_posts, user["id"]),
        on_own_connection(posts_service.list_posts, user["id"], LATEST_POSTS, 0),
        on_own_connection(audit_service.count_events, user["id"]),
{%- if cookiecutter.include_celery == 'y' %}
        on_own_connection(jobs_service.count_jobs, user["id"]),
{%- endif %}
    )
    return {
        "post_count": post_count,
        "latest_posts": latest_posts,
        "audit_event_count": audit_count,
{%- if cookiecutter.include_celery == 'y' %}
        "job_count": job_count,
{%- endif %}
    }
