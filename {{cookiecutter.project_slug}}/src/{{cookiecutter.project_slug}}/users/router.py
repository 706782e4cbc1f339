import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, BackgroundTasks, status

from {{ cookiecutter.project_slug }}.audit import service as audit_service
from {{ cookiecutter.project_slug }}.auth import links
from {{ cookiecutter.project_slug }}.auth.dependencies import CurrentSession, CurrentUser, Hashing
from {{ cookiecutter.project_slug }}.auth.emails import AuthEmails
from {{ cookiecutter.project_slug }}.auth.exceptions import EmailTakenError
from {{ cookiecutter.project_slug }}.auth.passwords import NewPasswords, PasswordChecker, Passwords
from {{ cookiecutter.project_slug }}.core.database import Conn, Connection, Pool, lend
from {{ cookiecutter.project_slug }}.core.errors import error_responses
from {{ cookiecutter.project_slug }}.core.settings import SettingsDep
{%- if cookiecutter.include_celery == 'y' %}
from {{ cookiecutter.project_slug }}.jobs import service as jobs_service
{%- endif %}
from {{ cookiecutter.project_slug }}.sessions import service as sessions_service
from {{ cookiecutter.project_slug }}.users import service
from {{ cookiecutter.project_slug }}.users.exceptions import (
    EmailUnchangedError,
    WrongPasswordError,
)
from {{ cookiecutter.project_slug }}.users.schemas import (
    EmailChange,
    PasswordChange,
    UserOut,
    UserSummary,
    UserUpdate,
)
from {{ cookiecutter.project_slug }}.users.service import UserRecord

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
    summary="Change the caller's display name",
    description="The password has its own route, POST /users/me/password.",
)
async def update_me(user: CurrentUser, data: UserUpdate, conn: Conn) -> dict[str, Any]:
    return dict(await service.update_user(conn, user["id"], display_name=data.display_name))


async def _confirm_password(passwords: PasswordChecker, user: UserRecord, password: str) -> None:
    """403 `wrong_password` unless `password` is the user's, counted like a login."""
    if await passwords.check(user["email"], password) is None:
        raise WrongPasswordError


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change the caller's password",
    description=(
        "Requires the current password (403 `wrong_password` otherwise; attempts count "
        "against the login rate limits). Ends every other session of the account: whoever "
        "held one must log in with the new password. A guessable new password is 422 "
        "`password_too_guessable`."
    ),
    responses=error_responses(
        status.HTTP_403_FORBIDDEN,
        status.HTTP_429_TOO_MANY_REQUESTS,
        status.HTTP_503_SERVICE_UNAVAILABLE,
    ),
)
async def change_password(
    signed_in: CurrentSession,
    data: PasswordChange,
    passwords: Passwords,
    new_passwords: NewPasswords,
    pool: Pool,
    hashing: Hashing,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> None:
    user = signed_in.user
    await _confirm_password(passwords, user, data.current_password)
    await new_passwords.check(
        "new_password", data.new_password, user["email"], user["display_name"]
    )
    # Hashed before a connection is taken: none is held while Argon2 runs.
    password_hash = await hashing.hash(data.new_password)
    async with lend(pool, settings.db_acquire_timeout) as conn, conn.transaction():
        await service.set_password(conn, user["id"], password_hash)
        await links.revoke(conn, user["id"])  # a reset link asked for earlier is moot now
        ended = await sessions_service.end_sessions(conn, user["id"], keep=signed_in.session_id)
    background.add_task(
        audit_service.record_event_later,
        pool,
        user["id"],
        "user.password_changed",
        {"other_sessions_ended": ended},
    )


@router.post(
    "/me/email",
    response_model=UserOut,
    summary="Change the caller's email address",
    description=(
        "Requires the current password (403 `wrong_password` otherwise; attempts count "
        "against the login rate limits). The new address is unverified until the link sent to "
        "it is used; the old address is told of the change. 409 `email_taken` if another "
        "account has it."
    ),
    responses=error_responses(
        status.HTTP_403_FORBIDDEN,
        status.HTTP_409_CONFLICT,
        status.HTTP_429_TOO_MANY_REQUESTS,
        status.HTTP_503_SERVICE_UNAVAILABLE,
    ),
)
async def change_email(
    user: CurrentUser,
    data: EmailChange,
    passwords: Passwords,
    emails: AuthEmails,
    pool: Pool,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    await _confirm_password(passwords, user, data.current_password)
    if data.new_email == user["email"]:
        raise EmailUnchangedError
    async with lend(pool, settings.db_acquire_timeout) as conn:
        try:
            async with conn.transaction():
                updated = await service.change_email(conn, user["id"], data.new_email)
                await links.revoke(conn, user["id"])  # links to the old address stop working
        except service.DuplicateEmailError as exc:
            raise EmailTakenError from exc
    emails.queue_verification(user["id"], updated["email"], user["display_name"])
    emails.queue_email_changed_notice(user["email"], user["display_name"], updated["email"])
    background.add_task(
        audit_service.record_event_later,
        pool,
        user["id"],
        "user.email_changed",
        {"from": user["email"], "to": updated["email"]},
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
