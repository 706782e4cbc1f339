import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, status

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentUser, Hashing
from {{ cookiecutter.project_slug }}.core.database import Connection, Pool, lend
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.jobs import service as jobs_service
{%- endif %}
from {{ cookiecutter.project_slug }}.users import service
from {{ cookiecutter.project_slug }}.users.schemas import UserOut, UserSummary, UserUpdate

T = TypeVar("T")

router = APIRouter(
    prefix="/users", tags=["users"], responses=error_responses(status.HTTP_401_UNAUTHORIZED)
)

LATEST_EVENTS = 5


@router.get("/me", response_model=UserOut, summary="The caller's account")
async def read_me(user: CurrentUser) -> dict[str, Any]:
    return dict(user)


@router.patch(
    "/me",
    response_model=UserOut,
    summary="Change the caller's display name or password",
    responses=error_responses(status.HTTP_503_SERVICE_UNAVAILABLE),
)
async def update_me(
    user: CurrentUser, data: UserUpdate, pool: Pool, hashing: Hashing, settings: SettingsDep
) -> dict[str, Any]:
    # Hashed before a connection is taken: none is held while Argon2 runs.
    password_hash = await hashing.hash(data.password) if data.password else None
    async with lend(pool, settings.db_acquire_timeout) as conn:
        updated = await service.update_user(
            conn, user["id"], display_name=data.display_name, password_hash=password_hash
        )
    return dict(updated)


@router.get(
    "/me/summary",
    response_model=UserSummary,
    summary="Counts and the latest audit events, gathered concurrently",
)
async def read_summary(user: CurrentUser, pool: Pool, settings: SettingsDep) -> dict[str, Any]:
    # S17: independent queries at once. Each needs its own connection: one asyncpg
    # connection runs one query at a time, so sharing one would serialise them.
    async def on_own_connection(query: Callable[[Connection], Awaitable[T]]) -> T:
        async with lend(pool, settings.db_acquire_timeout) as conn:
            return await query(conn)

    user_id = user["id"]
    audit_count, latest_events{% if cookiecutter.include_celery == 'y' %}, job_count{% endif %} = await asyncio.gather(
        on_own_connection(lambda conn: audit_service.count_events(conn, user_id)),
        on_own_connection(lambda conn: audit_service.list_events(conn, user_id, LATEST_EVENTS, 0)),
{%- if cookiecutter.include_celery == 'y' %}
        on_own_connection(lambda conn: jobs_service.count_jobs(conn, user_id)),
{%- endif %}
    )
    return {
        "audit_event_count": audit_count,
        "latest_audit_events": latest_events,
{%- if cookiecutter.include_celery == 'y' %}
        "job_count": job_count,
{%- endif %}
    }
